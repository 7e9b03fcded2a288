// The map operations the reconciler needs: implemented over the real maps by
// LbMapsStore (lb_maps_store.h) and in memory by testing/fake_map_store.h.
// Keys and values are the layout.h structs, in network byte order.
#ifndef FERRY_AGENT_LB_MAP_STORE_H_
#define FERRY_AGENT_LB_MAP_STORE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/maps.h"
#include "layout.h"

namespace ferry::lb {

using datapath::Entries;
using MaglevTableWrite = datapath::LbMaps::MaglevTableWrite;

class MapStore {
 public:
  virtual ~MapStore() = default;

  virtual absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> ListFrontends() const = 0;
  // Active backends and nodes with a family only.
  virtual absl::StatusOr<Entries<uint32_t, ferry_backend>> ListBackends() const = 0;
  virtual absl::StatusOr<Entries<uint32_t, ferry_node>> ListNodes() const = 0;
  // The service ids that have a table. May be slow: the reconciler asks once.
  virtual absl::StatusOr<std::vector<uint32_t>> ListMaglevTables() const = 0;
  // NotFound if the service has no table.
  virtual absl::StatusOr<std::vector<uint32_t>> ReadMaglevTable(uint32_t service_id) const = 0;

  virtual absl::Status UpsertFrontend(const ferry_frontend_key& key,
                                      const ferry_frontend& value) = 0;
  virtual absl::Status DeleteFrontend(const ferry_frontend_key& key) = 0;
  // Replaces each table whole, in one step (no reader sees a partial
  // table), in order; on failure the tables before the failing one are
  // written.
  virtual absl::Status SetMaglevTables(std::span<const MaglevTableWrite> tables) = 0;
  // OK for services without a table.
  virtual absl::Status DeleteMaglevTables(std::span<const uint32_t> service_ids) = 0;
  virtual absl::Status UpsertBackend(uint32_t backend_id, const ferry_backend& backend) = 0;
  virtual absl::Status DeleteBackend(uint32_t backend_id) = 0;
  virtual absl::Status UpsertNode(uint32_t node_id, const ferry_node& node) = 0;
  virtual absl::Status DeleteNode(uint32_t node_id) = 0;
  virtual absl::Status ClearServiceStats(uint32_t service_id) = 0;
};

// frontends, backends and nodes as the maps hold them.
struct ActualState {
  Entries<ferry_frontend_key, ferry_frontend> frontends;
  Entries<uint32_t, ferry_backend> backends;
  Entries<uint32_t, ferry_node> nodes;
};
absl::StatusOr<ActualState> ReadActual(const MapStore& store);

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_MAP_STORE_H_
