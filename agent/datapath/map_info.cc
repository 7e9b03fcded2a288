#include "agent/datapath/map_info.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/datapath/fd.h"

namespace ferry::datapath {
namespace {

uint64_t MemlockOf(int fd) {
  std::ifstream fdinfo(absl::StrCat("/proc/self/fdinfo/", fd));
  std::string line;
  while (std::getline(fdinfo, line)) {
    absl::string_view rest = line;
    uint64_t bytes = 0;
    if (absl::ConsumePrefix(&rest, "memlock:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &bytes)) {
      return bytes;
    }
  }
  return 0;
}

bool IsMapOfMaps(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

// Walks the outer map's keys; each value read from user space is the inner
// map's id.
void AddInnerMaps(int outer_fd, const bpf_map_info& outer, PinnedMapInfo& out) {
  std::vector<uint8_t> key(outer.key_size), next(outer.key_size);
  uint32_t inner_id = 0;
  void* previous = nullptr;
  while (bpf_map_get_next_key(outer_fd, previous, next.data()) == 0) {
    key.swap(next);
    previous = key.data();
    if (bpf_map_lookup_elem(outer_fd, key.data(), &inner_id) != 0) continue;
    Fd inner(bpf_map_get_fd_by_id(inner_id));
    if (!inner.valid()) continue;  // replaced since the lookup
    ++out.inner_maps;
    out.inner_memlock_bytes += MemlockOf(inner.get());
  }
}

}  // namespace

absl::StatusOr<std::vector<PinnedMapInfo>> DescribePinnedMaps(const std::filesystem::path& pin_dir) {
  std::error_code error;
  std::filesystem::directory_iterator entries(pin_dir, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("listing ", pin_dir.string(), ": ", error.message()));
  }
  std::vector<PinnedMapInfo> maps;
  for (const std::filesystem::directory_entry& entry : entries) {
    if (entry.is_directory()) continue;
    Fd fd(bpf_obj_get(entry.path().c_str()));
    if (!fd.valid()) {
      return absl::ErrnoToStatus(errno, absl::StrCat("opening the pin ", entry.path().string()));
    }
    bpf_map_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) continue;  // not a map
    const char* type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
    PinnedMapInfo map{.name = entry.path().filename().string(),
                      .type = type != nullptr ? type : absl::StrCat("type ", info.type),
                      .key_size = info.key_size,
                      .value_size = info.value_size,
                      .max_entries = info.max_entries,
                      .id = info.id,
                      .memlock_bytes = MemlockOf(fd.get())};
    if (IsMapOfMaps(info.type)) AddInnerMaps(fd.get(), info, map);
    maps.push_back(std::move(map));
  }
  std::sort(maps.begin(), maps.end(),
            [](const PinnedMapInfo& a, const PinnedMapInfo& b) { return a.name < b.name; });
  return maps;
}

absl::StatusOr<uint32_t> ProgramId(int program_fd) {
  bpf_prog_info info{};
  uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) {
    return absl::ErrnoToStatus(errno, "reading a program's info");
  }
  return info.id;
}

}  // namespace ferry::datapath
