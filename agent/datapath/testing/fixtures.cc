#include "agent/datapath/testing/fixtures.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/datapath/fd.h"

namespace ferry::datapath::testing {

std::string UniqueName(absl::string_view suffix) {
  return absl::StrCat("ft", getpid(), "-", suffix);
}

absl::Status RunCommand(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1) return absl::ErrnoToStatus(errno, absl::StrCat("running: ", command));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("command failed (status ", status, "): ", command));
  }
  return absl::OkStatus();
}

ScopedNetns::ScopedNetns(absl::string_view suffix) : name_(UniqueName(suffix)) {
  RunCommand(absl::StrCat("ip netns del ", name_, " 2>/dev/null")).IgnoreError();
  created_ = RunCommand(absl::StrCat("ip netns add ", name_));
  if (created_.ok()) created_ = Exec("ip link set lo up");
}

ScopedNetns::~ScopedNetns() { RunCommand(absl::StrCat("ip netns del ", name_)).IgnoreError(); }

absl::Status ScopedNetns::Exec(absl::string_view command) const {
  const std::string quoted = absl::StrReplaceAll(command, {{"'", "'\\''"}});
  return RunCommand(absl::StrCat("ip netns exec ", name_, " sh -c '", quoted, "'"));
}

absl::Status ScopedNetns::Run(absl::FunctionRef<void()> body) const {
  absl::Status status;
  std::thread thread([&] {
    const std::string path = absl::StrCat("/run/netns/", name_);
    Fd netns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid() || setns(netns.get(), CLONE_NEWNET) != 0) {
      status = absl::ErrnoToStatus(errno, absl::StrCat("entering network namespace ", name_));
      return;
    }
    body();
  });
  thread.join();
  return status;
}

ScopedPinDir::ScopedPinDir(absl::string_view suffix)
    : path_(std::filesystem::path(std::string(kPinRoot)) / UniqueName(suffix)) {
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
  return Datapath::Load({.node_name = "test", .pin_dir = pin_dir, .sizes = sizes});
}

ferry_backend MakeBackend(absl::string_view addr, uint16_t port, uint32_t node_id) {
  const IpAddress pod = ParseAddress(addr).value();
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
