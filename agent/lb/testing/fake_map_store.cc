#include "agent/lb/testing/fake_map_store.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace ferry::lb::testing {

namespace {

template <typename Map>
auto ToEntries(const Map& map) {
  using Entry = std::pair<typename Map::key_type, typename Map::mapped_type>;
  return std::vector<Entry>(map.begin(), map.end());
}

}  // namespace

int FakeMapStore::Count(OpKind kind) const {
  return static_cast<int>(
      std::count_if(log_.begin(), log_.end(), [kind](const Op& op) { return op.kind == kind; }));
}

void FakeMapStore::Violation(std::string what) {
  if (checks_ == Checks::kAfterEveryWrite) {
    violations_.push_back(absl::StrCat("after write #", log_.size(), ": ", what));
  }
}

absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> FakeMapStore::ListFrontends() const {
  return ToEntries(frontends_);
}

absl::StatusOr<Entries<uint32_t, ferry_backend>> FakeMapStore::ListBackends() const {
  return ToEntries(backends_);
}

absl::StatusOr<Entries<uint32_t, ferry_node>> FakeMapStore::ListNodes() const {
  return ToEntries(nodes_);
}

absl::StatusOr<std::vector<uint32_t>> FakeMapStore::ListMaglevTables() const {
  std::vector<uint32_t> ids;
  for (const auto& [id, table] : tables_) ids.push_back(id);
  return ids;
}

absl::StatusOr<std::vector<uint32_t>> FakeMapStore::ReadMaglevTable(uint32_t service_id) const {
  ++table_reads_;
  auto it = tables_.find(service_id);
  if (it == tables_.end()) {
    return absl::NotFoundError(absl::StrCat("service ", service_id, " has no Maglev table"));
  }
  return it->second.slots;
}

absl::Status FakeMapStore::UpsertFrontend(const ferry_frontend_key& key,
                                          const ferry_frontend& value) {
  Record(OpKind::kUpsertFrontend, value.service_id);
  frontends_[key] = value;
  auto table = tables_.find(value.service_id);
  if (table != tables_.end() && table->second.slots.size() != value.maglev_size) {
    Violation(absl::StrCat("a frontend of service ", value.service_id, " says ", value.maglev_size,
                           " slots, its table has ", table->second.slots.size()));
  }
  return absl::OkStatus();
}

absl::Status FakeMapStore::DeleteFrontend(const ferry_frontend_key& key) {
  auto it = frontends_.find(key);
  Record(OpKind::kDeleteFrontend, it == frontends_.end() ? 0 : it->second.service_id);
  if (it != frontends_.end()) frontends_.erase(it);
  return absl::OkStatus();
}

void FakeMapStore::AdjustTableRefs(const Table& table, int delta) {
  for (uint32_t id : table.backend_ids) tables_naming_backend_[id] += delta;
}

absl::Status FakeMapStore::SetMaglevTables(std::span<const MaglevTableWrite> tables) {
  for (const MaglevTableWrite& table : tables) SetTable(table.service_id, table.backend_ids);
  return absl::OkStatus();
}

absl::Status FakeMapStore::DeleteMaglevTables(std::span<const uint32_t> service_ids) {
  for (uint32_t id : service_ids) DeleteTable(id);
  return absl::OkStatus();
}

void FakeMapStore::SetTable(uint32_t service_id, std::span<const uint32_t> backend_ids) {
  Record(OpKind::kSetTable, service_id);
  const absl::flat_hash_set<uint32_t> distinct(backend_ids.begin(), backend_ids.end());
  Table table{.slots = {backend_ids.begin(), backend_ids.end()},
              .backend_ids = {distinct.begin(), distinct.end()}};
  for (uint32_t id : table.backend_ids) {
    if (!backends_.contains(id)) {
      Violation(absl::StrCat("the table of service ", service_id, " names absent backend ", id));
    }
  }
  for (const auto& [key, frontend] : frontends_) {
    if (checks_ == Checks::kOff) break;  // a scan of every frontend per table
    if (frontend.service_id == service_id && frontend.maglev_size != backend_ids.size()) {
      Violation(absl::StrCat("the table of service ", service_id, " has ", backend_ids.size(),
                             " slots, a frontend says ", frontend.maglev_size));
    }
  }
  if (auto old = tables_.find(service_id); old != tables_.end()) AdjustTableRefs(old->second, -1);
  AdjustTableRefs(table, +1);
  tables_[service_id] = std::move(table);
}

void FakeMapStore::DeleteTable(uint32_t service_id) {
  Record(OpKind::kDeleteTable, service_id);
  if (auto old = tables_.find(service_id); old != tables_.end()) {
    AdjustTableRefs(old->second, -1);
    tables_.erase(old);
  }
}

absl::Status FakeMapStore::UpsertBackend(uint32_t backend_id, const ferry_backend& backend) {
  Record(OpKind::kUpsertBackend, backend_id);
  if (!nodes_.contains(backend.node_id)) {
    Violation(absl::StrCat("backend ", backend_id, " names absent node ", backend.node_id));
  }
  if (auto old = backends_.find(backend_id); old != backends_.end()) {
    --backends_naming_node_[old->second.node_id];
  }
  ++backends_naming_node_[backend.node_id];
  backends_[backend_id] = backend;
  return absl::OkStatus();
}

absl::Status FakeMapStore::DeleteBackend(uint32_t backend_id) {
  Record(OpKind::kDeleteBackend, backend_id);
  if (tables_naming_backend_[backend_id] > 0) {
    Violation(absl::StrCat("backend ", backend_id, " deleted while a table names it"));
  }
  if (auto old = backends_.find(backend_id); old != backends_.end()) {
    --backends_naming_node_[old->second.node_id];
    backends_.erase(old);
  }
  return absl::OkStatus();
}

absl::Status FakeMapStore::UpsertNode(uint32_t node_id, const ferry_node& node) {
  Record(OpKind::kUpsertNode, node_id);
  nodes_[node_id] = node;
  return absl::OkStatus();
}

absl::Status FakeMapStore::DeleteNode(uint32_t node_id) {
  Record(OpKind::kDeleteNode, node_id);
  if (backends_naming_node_[node_id] > 0) {
    Violation(absl::StrCat("node ", node_id, " deleted while a backend names it"));
  }
  nodes_.erase(node_id);
  return absl::OkStatus();
}

absl::Status FakeMapStore::ClearServiceStats(uint32_t service_id) {
  Record(OpKind::kClearStats, service_id);
  return absl::OkStatus();
}

}  // namespace ferry::lb::testing
