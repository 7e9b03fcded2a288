#include "agent/lb/lb_maps_store.h"

namespace ferry::lb {

absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> LbMapsStore::ListFrontends() const {
  return maps_.ListFrontends();
}

absl::StatusOr<Entries<uint32_t, ferry_backend>> LbMapsStore::ListBackends() const {
  return maps_.ListBackends();
}

absl::StatusOr<Entries<uint32_t, ferry_node>> LbMapsStore::ListNodes() const {
  return maps_.ListNodes();
}

absl::StatusOr<std::vector<uint32_t>> LbMapsStore::ListMaglevTables() const {
  std::vector<uint32_t> ids;
  for (uint32_t id = 0; id < service_capacity_; ++id) {
    absl::StatusOr<std::vector<uint32_t>> table = maps_.ReadMaglevTable(id);
    if (table.ok()) {
      ids.push_back(id);
    } else if (!absl::IsNotFound(table.status())) {
      return table.status();
    }
  }
  return ids;
}

absl::StatusOr<std::vector<uint32_t>> LbMapsStore::ReadMaglevTable(uint32_t service_id) const {
  return maps_.ReadMaglevTable(service_id);
}

absl::Status LbMapsStore::UpsertFrontend(const ferry_frontend_key& key,
                                         const ferry_frontend& value) {
  return maps_.UpsertFrontend(key, value);
}

absl::Status LbMapsStore::DeleteFrontend(const ferry_frontend_key& key) {
  return maps_.DeleteFrontend(key);
}

absl::Status LbMapsStore::SetMaglevTable(uint32_t service_id,
                                         std::span<const uint32_t> backend_ids) {
  return maps_.SetMaglevTable(service_id, backend_ids);
}

absl::Status LbMapsStore::DeleteMaglevTable(uint32_t service_id) {
  return maps_.DeleteMaglevTable(service_id);
}

absl::Status LbMapsStore::UpsertBackend(uint32_t backend_id, const ferry_backend& backend) {
  return maps_.UpsertBackend(backend_id, backend);
}

absl::Status LbMapsStore::DeleteBackend(uint32_t backend_id) {
  return maps_.DeleteBackend(backend_id);
}

absl::Status LbMapsStore::UpsertNode(uint32_t node_id, const ferry_node& node) {
  return maps_.UpsertNode(node_id, node);
}

absl::Status LbMapsStore::DeleteNode(uint32_t node_id) { return maps_.DeleteNode(node_id); }

absl::Status LbMapsStore::ClearServiceStats(uint32_t service_id) {
  return maps_.ClearServiceStats(service_id);
}

}  // namespace ferry::lb
