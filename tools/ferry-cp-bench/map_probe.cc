#include "tools/ferry-cp-bench/map_probe.h"

#include <netinet/in.h>

#include <cstring>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/datapath/addr.h"
#include "agent/lb/desired.h"

namespace ferry::cpbench {
namespace {

absl::StatusOr<ferry_frontend_key> FrontendKeyOf(int service) {
  absl::StatusOr<net::IpAddress> vip = net::IpAddress::Parse(VipOf(service));
  if (!vip.ok()) return vip.status();
  return datapath::MakeFrontendKey(*vip, kServicePort, IPPROTO_TCP);
}

std::string FrontendName(int service) {
  return absl::StrCat(ServiceName(service), " (", VipOf(service), ":", kServicePort, "/tcp)");
}

}  // namespace

absl::StatusOr<MapMemory> MeasureMapMemory(const std::filesystem::path& pin_dir) {
  absl::StatusOr<std::vector<datapath::PinnedMapInfo>> maps = datapath::DescribePinnedMaps(pin_dir);
  if (!maps.ok()) return maps.status();
  MapMemory memory{.maps = std::move(*maps)};
  for (const datapath::PinnedMapInfo& map : memory.maps) {
    const uint64_t bytes = map.memlock_bytes + map.inner_memlock_bytes;
    memory.total_bytes += bytes;
    if (map.name == FERRY_MAP_MAGLEV) {
      memory.maglev_bytes = bytes;
      memory.maglev_tables = map.inner_maps;
    }
  }
  return memory;
}

absl::StatusOr<bool> FullyProgrammed(const datapath::LbMaps& maps,
                                     const std::filesystem::path& pin_dir,
                                     const ScenarioOptions& options) {
  auto frontends = maps.ListFrontends();
  if (!frontends.ok()) return frontends.status();
  if (frontends->size() < static_cast<size_t>(options.services)) return false;
  auto backends = maps.ListBackends();
  if (!backends.ok()) return backends.status();
  if (backends->size() < static_cast<size_t>(options.services) * options.backends_per_service) {
    return false;
  }
  absl::StatusOr<MapMemory> memory = MeasureMapMemory(pin_dir);
  if (!memory.ok()) return memory.status();
  return memory->maglev_tables >= static_cast<uint32_t>(options.services);
}

absl::StatusOr<uint32_t> ServiceIdOf(const datapath::LbMaps& maps, int service) {
  absl::StatusOr<ferry_frontend_key> key = FrontendKeyOf(service);
  if (!key.ok()) return key.status();
  auto frontends = maps.ListFrontends();
  if (!frontends.ok()) return frontends.status();
  for (const auto& [frontend, value] : *frontends) {
    if (std::memcmp(&frontend, &*key, sizeof(frontend)) == 0) {
      return value.service_id;
    }
  }
  return absl::NotFoundError(absl::StrCat("no frontend for ", FrontendName(service)));
}

absl::StatusOr<EndpointsById> ReadBackendEndpoints(const datapath::LbMaps& maps) {
  auto backends = maps.ListBackends();
  if (!backends.ok()) return backends.status();
  EndpointsById endpoints;
  endpoints.reserve(backends->size());
  for (const auto& [id, backend] : *backends) {
    endpoints[id] = datapath::FormatEndpoint(backend.addr, backend.family, backend.port);
  }
  return endpoints;
}

absl::Status VerifyTable(const datapath::LbMaps& maps, const EndpointsById& endpoints,
                         uint32_t service_id, const std::vector<Pod>& backends,
                         uint32_t maglev_size) {
  absl::StatusOr<std::vector<uint32_t>> slots = maps.ReadMaglevTable(service_id);
  if (!slots.ok()) return slots.status();
  if (slots->size() != maglev_size) {
    return absl::FailedPreconditionError(absl::StrCat("the Maglev table of service id ", service_id,
                                                      " has ", slots->size(), " slots, not ",
                                                      maglev_size));
  }
  std::set<std::string> found;
  for (uint32_t id : std::set<uint32_t>(slots->begin(), slots->end())) {
    auto endpoint = endpoints.find(id);
    found.insert(endpoint == endpoints.end() ? absl::StrCat("inactive backend id ", id)
                                             : endpoint->second);
  }
  std::set<std::string> wanted;
  for (const Pod& pod : backends) wanted.insert(pod.Endpoint());
  if (found != wanted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the Maglev table of service id ", service_id, " names ", absl::StrJoin(found, ", "),
        "; expected ", absl::StrJoin(wanted, ", ")));
  }
  return absl::OkStatus();
}

absl::Status VerifyAllTables(const datapath::LbMaps& maps, const ScenarioOptions& options,
                             uint32_t maglev_size) {
  auto frontends = maps.ListFrontends();
  if (!frontends.ok()) return frontends.status();
  absl::StatusOr<EndpointsById> endpoints = ReadBackendEndpoints(maps);
  if (!endpoints.ok()) return endpoints.status();
  std::map<ferry_frontend_key, ferry_frontend, lb::FrontendKeyLess> by_key(
      frontends->begin(), frontends->end());
  for (int service = 0; service < options.services; ++service) {
    absl::StatusOr<ferry_frontend_key> key = FrontendKeyOf(service);
    if (!key.ok()) return key.status();
    auto frontend = by_key.find(*key);
    if (frontend == by_key.end()) {
      return absl::NotFoundError(absl::StrCat("no frontend for ", FrontendName(service)));
    }
    if (frontend->second.maglev_size != maglev_size) {
      return absl::FailedPreconditionError(absl::StrCat("the frontend of ", FrontendName(service),
                                                        " says Maglev size ",
                                                        frontend->second.maglev_size, ", not ",
                                                        maglev_size));
    }
    absl::Status table = VerifyTable(maps, *endpoints, frontend->second.service_id,
                                     BackendsOf(options, service), maglev_size);
    if (!table.ok()) {
      return absl::Status(table.code(), absl::StrCat(FrontendName(service), ": ", table.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::cpbench
