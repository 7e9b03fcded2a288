// What the kernel says of the maps pinned in a node's directory: type, sizes
// and the memory it charges for them. Read from the pins, so it works with
// or without the agent (ferryctl status, the control-plane bench).
#ifndef FERRY_AGENT_DATAPATH_MAP_INFO_H_
#define FERRY_AGENT_DATAPATH_MAP_INFO_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::datapath {

struct PinnedMapInfo {
  std::string name;  // the pin's file name
  std::string type;  // libbpf's name for the type: "hash", "lru_hash", ...
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t id = 0;
  uint64_t memlock_bytes = 0;  // fdinfo "memlock": what the kernel charges
  // For a map of maps, the inner maps it holds now and their memory.
  uint32_t inner_maps = 0;
  uint64_t inner_memlock_bytes = 0;
};

// Every map pinned directly in `pin_dir`, by name. NotFound when the
// directory does not exist.
absl::StatusOr<std::vector<PinnedMapInfo>> DescribePinnedMaps(const std::filesystem::path& pin_dir);

// The kernel's id of a loaded program (what `bpftool prog show id N` takes).
absl::StatusOr<uint32_t> ProgramId(int program_fd);

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_MAP_INFO_H_
