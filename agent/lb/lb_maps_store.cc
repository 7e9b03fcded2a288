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
  return maps_.ListMaglevTableIds();
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

absl::Status LbMapsStore::SetMaglevTables(std::span<const MaglevTableWrite> tables) {
  return maps_.SetMaglevTables(tables);
}

absl::Status LbMapsStore::DeleteMaglevTables(std::span<const uint32_t> service_ids) {
  return maps_.DeleteMaglevTables(service_ids);
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
