// What ferryd has written, read from the pinned maps as ferryctl reads them:
// how far programming has got, whether it is right, and what the maps cost
// the kernel.
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_MAP_PROBE_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_MAP_PROBE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "agent/datapath/map_info.h"
#include "agent/datapath/maps.h"
#include "tools/ferry-cp-bench/scenario.h"

namespace ferry::cpbench {

struct MapMemory {
  std::vector<datapath::PinnedMapInfo> maps;
  uint64_t total_bytes = 0;   // memlock of every map, Maglev tables included
  uint64_t maglev_bytes = 0;  // maglev_tables and the tables it holds
  uint32_t maglev_tables = 0;
};

absl::StatusOr<MapMemory> MeasureMapMemory(const std::filesystem::path& pin_dir);

// True once every service has its frontend, every backend is in place and
// there are as many Maglev tables as services. ferryd writes a service's
// table before its frontend, so this is cheap enough to poll: two batch
// reads, and the tables are counted only once the frontends are complete.
absl::StatusOr<bool> FullyProgrammed(const datapath::LbMaps& maps,
                                     const std::filesystem::path& pin_dir,
                                     const ScenarioOptions& options);

// The service's id (its frontend's service_id); NotFound if no frontend.
absl::StatusOr<uint32_t> ServiceIdOf(const datapath::LbMaps& maps, int service);

// Backend id -> "address:port" (Pod::Endpoint()) of every active backend.
using EndpointsById = absl::flat_hash_map<uint32_t, std::string>;
absl::StatusOr<EndpointsById> ReadBackendEndpoints(const datapath::LbMaps& maps);

// Checks that the Maglev table of service_id has `maglev_size` slots and
// that they name exactly the pods `backends` (each of them, nothing else).
absl::Status VerifyTable(const datapath::LbMaps& maps, const EndpointsById& endpoints,
                         uint32_t service_id, const std::vector<Pod>& backends,
                         uint32_t maglev_size);

// VerifyTable for every service of the scenario, and the frontend of each
// names a table of maglev_size.
absl::Status VerifyAllTables(const datapath::LbMaps& maps, const ScenarioOptions& options,
                             uint32_t maglev_size);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_MAP_PROBE_H_
