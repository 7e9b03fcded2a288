// MapStore over the datapath's real maps.
#ifndef FERRY_AGENT_LB_LB_MAPS_STORE_H_
#define FERRY_AGENT_LB_LB_MAPS_STORE_H_

#include "agent/datapath/maps.h"
#include "agent/lb/map_store.h"

namespace ferry::lb {

class LbMapsStore final : public MapStore {
 public:
  // `maps` must outlive the store. service_capacity: entries of
  // maglev_tables (MapSizes::services), the ids ListMaglevTables looks at.
  LbMapsStore(datapath::LbMaps& maps, uint32_t service_capacity)
      : maps_(maps), service_capacity_(service_capacity) {}

  absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> ListFrontends() const override;
  absl::StatusOr<Entries<uint32_t, ferry_backend>> ListBackends() const override;
  absl::StatusOr<Entries<uint32_t, ferry_node>> ListNodes() const override;
  // Reads every table in full: LbMaps has no cheaper way to list the ids.
  absl::StatusOr<std::vector<uint32_t>> ListMaglevTables() const override;
  absl::StatusOr<std::vector<uint32_t>> ReadMaglevTable(uint32_t service_id) const override;

  absl::Status UpsertFrontend(const ferry_frontend_key& key, const ferry_frontend& value) override;
  absl::Status DeleteFrontend(const ferry_frontend_key& key) override;
  absl::Status SetMaglevTables(std::span<const MaglevTableWrite> tables) override;
  absl::Status DeleteMaglevTables(std::span<const uint32_t> service_ids) override;
  absl::Status UpsertBackend(uint32_t backend_id, const ferry_backend& backend) override;
  absl::Status DeleteBackend(uint32_t backend_id) override;
  absl::Status UpsertNode(uint32_t node_id, const ferry_node& node) override;
  absl::Status DeleteNode(uint32_t node_id) override;
  absl::Status ClearServiceStats(uint32_t service_id) override;

 private:
  datapath::LbMaps& maps_;
  uint32_t service_capacity_;
};

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_LB_MAPS_STORE_H_
