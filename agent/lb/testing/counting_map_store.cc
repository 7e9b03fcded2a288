#include "agent/lb/testing/counting_map_store.h"

namespace ferry::lb::testing {

absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> CountingMapStore::ListFrontends()
    const {
  return maps_.ListFrontends();
}
absl::StatusOr<Entries<uint32_t, ferry_backend>> CountingMapStore::ListBackends() const {
  return maps_.ListBackends();
}
absl::StatusOr<Entries<uint32_t, ferry_node>> CountingMapStore::ListNodes() const {
  return maps_.ListNodes();
}
absl::StatusOr<std::vector<uint32_t>> CountingMapStore::ListMaglevTables() const {
  return maps_.ListMaglevTables();
}
absl::StatusOr<std::vector<uint32_t>> CountingMapStore::ReadMaglevTable(uint32_t service_id) const {
  return maps_.ReadMaglevTable(service_id);
}

// A frontend's op is logged under its service id, as the fake store does.
absl::Status CountingMapStore::UpsertFrontend(const ferry_frontend_key& key,
                                              const ferry_frontend& value) {
  return Logged(maps_.UpsertFrontend(key, value), OpKind::kUpsertFrontend, value.service_id);
}
absl::Status CountingMapStore::DeleteFrontend(const ferry_frontend_key& key) {
  return Logged(maps_.DeleteFrontend(key), OpKind::kDeleteFrontend, 0);
}
// One op per table, as the tables' swaps are one per table in the kernel.
absl::Status CountingMapStore::SetMaglevTables(std::span<const MaglevTableWrite> tables) {
  for (const MaglevTableWrite& table : tables) log_.push_back({OpKind::kSetTable, table.service_id});
  return maps_.SetMaglevTables(tables);
}
absl::Status CountingMapStore::DeleteMaglevTables(std::span<const uint32_t> service_ids) {
  for (uint32_t id : service_ids) log_.push_back({OpKind::kDeleteTable, id});
  return maps_.DeleteMaglevTables(service_ids);
}
absl::Status CountingMapStore::UpsertBackend(uint32_t backend_id, const ferry_backend& backend) {
  return Logged(maps_.UpsertBackend(backend_id, backend), OpKind::kUpsertBackend, backend_id);
}
absl::Status CountingMapStore::DeleteBackend(uint32_t backend_id) {
  return Logged(maps_.DeleteBackend(backend_id), OpKind::kDeleteBackend, backend_id);
}
absl::Status CountingMapStore::UpsertNode(uint32_t node_id, const ferry_node& node) {
  return Logged(maps_.UpsertNode(node_id, node), OpKind::kUpsertNode, node_id);
}
absl::Status CountingMapStore::DeleteNode(uint32_t node_id) {
  return Logged(maps_.DeleteNode(node_id), OpKind::kDeleteNode, node_id);
}
absl::Status CountingMapStore::ClearServiceStats(uint32_t service_id) {
  return Logged(maps_.ClearServiceStats(service_id), OpKind::kClearStats, service_id);
}

}  // namespace ferry::lb::testing
