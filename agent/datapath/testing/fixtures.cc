#include "agent/datapath/testing/fixtures.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/datapath/fd.h"

namespace ferry::datapath::testing {

absl::Status RunInNamespace(const netns::Namespace& ns, absl::FunctionRef<void()> body) {
  return netns::RunIn(ns, [&] {
    body();
    return absl::OkStatus();
  });
}

ScopedPinDir::ScopedPinDir(absl::string_view suffix)
    : path_(netns::PinDir(std::string(suffix))) {
  RemovePinDir(path_).IgnoreError();
}

ScopedPinDir::~ScopedPinDir() { RemovePinDir(path_).IgnoreError(); }

MapSizes SmallMapSizes() {
  return MapSizes{.services = 64,
                  .vips = 64,
                  .backends = 256,
                  .nodes = 16,
                  .flows = 8192,
                  .fragments = 256,
                  .rev_nat = 1024,
                  .endpoints = 64,
                  .frontends = 64};
}

absl::StatusOr<std::unique_ptr<Datapath>> LoadDatapath(const std::filesystem::path& pin_dir,
                                                       const MapSizes& sizes) {
  return Datapath::Load(
      {.node_name = "test", .pin_dir = pin_dir, .sizes = sizes, .object_dir = {}});
}

ferry_addr_key MapKeyOf(absl::string_view address) {
  return ToMapKey(net::IpAddress::Parse(address).value());
}

ferry_backend MakeBackend(absl::string_view addr, uint16_t port, uint32_t node_id) {
  const ferry_addr_key pod = MapKeyOf(addr);
  ferry_backend backend{};
  backend.addr = pod.addr;
  backend.family = pod.family;
  backend.port = htons(port);
  backend.flags = FERRY_BACKEND_ACTIVE;
  backend.node_id = node_id;
  return backend;
}

absl::Status WritePerCpu(const std::filesystem::path& pin_dir, absl::string_view map,
                         uint32_t index, const std::vector<uint64_t>& fields) {
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> value(cpus * fields.size());
  for (int cpu = 0; cpu < cpus; ++cpu) {
    for (size_t f = 0; f < fields.size(); ++f) value[cpu * fields.size() + f] = fields[f] * (cpu + 1);
  }
  const std::filesystem::path path = pin_dir / std::string(map);
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid() || bpf_map_update_elem(fd.get(), &index, value.data(), BPF_ANY) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("writing ", path.string()));
  }
  return absl::OkStatus();
}

uint64_t CpuFactorSum() {
  const uint64_t cpus = libbpf_num_possible_cpus();
  return cpus * (cpus + 1) / 2;
}

}  // namespace ferry::datapath::testing
