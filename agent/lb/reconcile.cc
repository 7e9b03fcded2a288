#include "agent/lb/reconcile.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::lb {

namespace {

using datapath::SameBytes;

// Counts a write that worked; gives a failed one its context.
absl::Status Count(absl::Status status, int& counter, absl::string_view what) {
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
  }
  ++counter;
  return absl::OkStatus();
}

std::string FrontendName(const ferry_frontend_key& key) {
  return absl::StrCat("frontend ", datapath::FormatEndpoint(key.vip, key.family, key.port), "/",
                      datapath::ProtocolName(key.proto));
}

// Writes, in key order, the desired entries that the actual ones lack or
// hold differently; stops at the first failure.
template <typename Desired, typename Actual, typename Write>
absl::Status WriteChanged(const Desired& desired, const Actual& actual, Write write) {
  for (const auto& [key, value] : desired) {
    auto it = actual.find(key);
    if (it != actual.end() && SameBytes(it->second, value)) continue;
    if (absl::Status status = write(key, value); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// Deletes, in key order, the actual entries that `desired` lacks; stops at
// the first failure.
template <typename Actual, typename Desired, typename Delete>
absl::Status DeleteAbsent(const Actual& actual, const Desired& desired, Delete remove) {
  for (const auto& entry : actual) {
    if (desired.contains(entry.first)) continue;
    if (absl::Status status = remove(entry.first); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

int ReconcileReport::writes() const {
  return node_upserts + backend_upserts + stats_clears + table_writes + frontend_upserts +
         frontend_deletes + table_deletes + backend_deletes + node_deletes;
}

std::string ToString(const ReconcileReport& report) {
  const std::pair<absl::string_view, int> counts[] = {
      {"node_upserts", report.node_upserts},         {"backend_upserts", report.backend_upserts},
      {"stats_clears", report.stats_clears},         {"table_writes", report.table_writes},
      {"frontend_upserts", report.frontend_upserts}, {"frontend_deletes", report.frontend_deletes},
      {"table_deletes", report.table_deletes},       {"backend_deletes", report.backend_deletes},
      {"node_deletes", report.node_deletes},
  };
  std::vector<std::string> parts;
  for (const auto& [name, count] : counts) {
    if (count != 0) parts.push_back(absl::StrCat(name, "=", count));
  }
  return parts.empty() ? "no writes" : absl::StrJoin(parts, " ");
}

void Reconciler::Remember(uint32_t id, const MaglevTableSpec& spec,
                          const std::vector<uint32_t>& slots) {
  KnownTable& known = tables_[id];
  known.spec = spec;
  known.slots_per_backend.clear();
  for (uint32_t backend : slots) ++known.slots_per_backend[backend];
}

const absl::flat_hash_map<uint32_t, uint32_t>* Reconciler::SlotCounts(uint32_t service_id) const {
  auto known = tables_.find(service_id);
  if (known == tables_.end() || known->second.spec.size == 0) return nullptr;
  return &known->second.slots_per_backend;
}

absl::Status Reconciler::WriteTables(
    std::span<const std::pair<uint32_t, const MaglevTableSpec*>> changed, ReconcileReport& report) {
  // Chunks bound the slots held at once (10,000 tables of 16381 slots
  // would be 655 MB).
  constexpr size_t kTablesPerWrite = 256;
  for (size_t start = 0; start < changed.size(); start += kTablesPerWrite) {
    const auto chunk = changed.subspan(start, std::min(kTablesPerWrite, changed.size() - start));
    std::vector<std::vector<uint32_t>> slots;
    std::vector<MaglevTableWrite> writes;
    slots.reserve(chunk.size());
    for (const auto& [id, spec] : chunk) {
      absl::StatusOr<std::vector<uint32_t>> built = BuildSlots(*spec);
      if (!built.ok()) return built.status();
      slots.push_back(*std::move(built));
      writes.push_back({id, slots.back()});
    }
    if (absl::Status status = store_.SetMaglevTables(writes); !status.ok()) {
      tables_learned_ = false;  // what the failed swaps left is unknown
      return absl::Status(status.code(),
                          absl::StrCat("writing Maglev tables: ", status.message()));
    }
    for (size_t i = 0; i < chunk.size(); ++i) Remember(chunk[i].first, *chunk[i].second, slots[i]);
    report.table_writes += static_cast<int>(chunk.size());
  }
  return absl::OkStatus();
}

absl::Status Reconciler::LearnTables(const DesiredState& desired) {
  absl::StatusOr<std::vector<uint32_t>> ids = store_.ListMaglevTables();
  if (!ids.ok()) return ids.status();
  tables_.clear();
  for (uint32_t id : *ids) {
    tables_[id] = {};
    auto wanted = desired.maglev_tables.find(id);
    if (wanted == desired.maglev_tables.end()) continue;
    absl::StatusOr<std::vector<uint32_t>> slots = store_.ReadMaglevTable(id);
    if (!slots.ok()) return slots.status();
    absl::StatusOr<std::vector<uint32_t>> expected = BuildSlots(wanted->second);
    if (!expected.ok()) return expected.status();
    if (*slots == *expected) Remember(id, wanted->second, *slots);
  }
  tables_learned_ = true;
  return absl::OkStatus();
}

absl::StatusOr<ReconcileReport> Reconciler::Reconcile(const DesiredState& desired) {
  if (!tables_learned_) {
    if (absl::Status status = LearnTables(desired); !status.ok()) return status;
  }
  absl::StatusOr<ActualState> read = ReadActual(store_);
  if (!read.ok()) return read.status();
  const absl::btree_map<uint32_t, ferry_node> nodes(read->nodes.begin(), read->nodes.end());
  const absl::btree_map<uint32_t, ferry_backend> backends(read->backends.begin(),
                                                          read->backends.end());
  const absl::btree_map<ferry_frontend_key, ferry_frontend, FrontendKeyLess> frontends(
      read->frontends.begin(), read->frontends.end());
  ReconcileReport report;

  absl::Status status =
      WriteChanged(desired.nodes, nodes, [&](uint32_t id, const ferry_node& node) {
        return Count(store_.UpsertNode(id, node), report.node_upserts,
                     absl::StrCat("writing node ", id));
      });
  if (!status.ok()) return status;
  status = WriteChanged(desired.backends, backends, [&](uint32_t id, const ferry_backend& backend) {
    return Count(store_.UpsertBackend(id, backend), report.backend_upserts,
                 absl::StrCat("writing backend ", id));
  });
  if (!status.ok()) return status;

  absl::flat_hash_set<uint32_t> live_services;
  for (const auto& [key, frontend] : frontends) live_services.insert(frontend.service_id);
  absl::btree_set<uint32_t> new_services;
  for (const auto& [key, frontend] : desired.frontends) {
    if (!live_services.contains(frontend.service_id)) new_services.insert(frontend.service_id);
  }
  for (uint32_t id : new_services) {
    // The id may have counted packets for a service that is gone.
    status = Count(store_.ClearServiceStats(id), report.stats_clears,
                   absl::StrCat("clearing the counters of service ", id));
    if (!status.ok()) return status;
  }
  std::vector<std::pair<uint32_t, const MaglevTableSpec*>> changed;
  for (const auto& [id, spec] : desired.maglev_tables) {
    auto known = tables_.find(id);
    if (known == tables_.end() || !(known->second.spec == spec)) changed.emplace_back(id, &spec);
  }
  if (status = WriteTables(changed, report); !status.ok()) return status;

  status =
      WriteChanged(desired.frontends, frontends,
                   [&](const ferry_frontend_key& key, const ferry_frontend& frontend) {
                     return Count(store_.UpsertFrontend(key, frontend), report.frontend_upserts,
                                  absl::StrCat("writing ", FrontendName(key)));
                   });
  if (!status.ok()) return status;
  status = DeleteAbsent(frontends, desired.frontends, [&](const ferry_frontend_key& key) {
    return Count(store_.DeleteFrontend(key), report.frontend_deletes,
                 absl::StrCat("deleting ", FrontendName(key)));
  });
  if (!status.ok()) return status;
  std::vector<uint32_t> absent_tables;
  for (const auto& [id, known] : tables_) {
    if (!desired.maglev_tables.contains(id)) absent_tables.push_back(id);
  }
  std::sort(absent_tables.begin(), absent_tables.end());
  if (status = store_.DeleteMaglevTables(absent_tables); !status.ok()) {
    tables_learned_ = false;  // which of them went is unknown
    return absl::Status(status.code(),
                        absl::StrCat("deleting Maglev tables: ", status.message()));
  }
  report.table_deletes += static_cast<int>(absent_tables.size());
  for (uint32_t id : absent_tables) tables_.erase(id);

  status = DeleteAbsent(backends, desired.backends, [&](uint32_t id) {
    return Count(store_.DeleteBackend(id), report.backend_deletes,
                 absl::StrCat("deleting backend ", id));
  });
  if (!status.ok()) return status;
  status = DeleteAbsent(nodes, desired.nodes, [&](uint32_t id) {
    return Count(store_.DeleteNode(id), report.node_deletes, absl::StrCat("deleting node ", id));
  });
  if (!status.ok()) return status;
  return report;
}

absl::StatusOr<ReconcileReport> Reconciler::ReconcileChange(const DesiredState& desired,
                                                             const DesiredChange& change) {
  if (!tables_learned_) return Reconcile(desired);
  ReconcileReport report;
  // The entries of `before` whose desired value is new or different.
  auto upserted = [](const auto& before, const auto& now) {
    std::vector<std::pair<typename std::decay_t<decltype(now)>::key_type,
                          typename std::decay_t<decltype(now)>::mapped_type>>
        out;
    for (const auto& [key, was] : before) {
      auto it = now.find(key);
      if (it != now.end() && !(was && SameBytes(*was, it->second))) out.emplace_back(*it);
    }
    return out;
  };
  absl::Status status = WriteChanged(
      upserted(change.backends, desired.backends), absl::btree_map<uint32_t, ferry_backend>{},
      [&](uint32_t id, const ferry_backend& backend) {
        return Count(store_.UpsertBackend(id, backend), report.backend_upserts,
                     absl::StrCat("writing backend ", id));
      });
  if (!status.ok()) return status;
  for (uint32_t id : change.new_services) {
    status = Count(store_.ClearServiceStats(id), report.stats_clears,
                   absl::StrCat("clearing the counters of service ", id));
    if (!status.ok()) return status;
  }
  std::vector<std::pair<uint32_t, const MaglevTableSpec*>> changed;
  std::vector<uint32_t> absent_tables;
  for (uint32_t id : change.tables) {
    auto wanted = desired.maglev_tables.find(id);
    auto known = tables_.find(id);
    if (wanted == desired.maglev_tables.end()) {
      if (known != tables_.end()) absent_tables.push_back(id);
    } else if (known == tables_.end() || !(known->second.spec == wanted->second)) {
      changed.emplace_back(id, &wanted->second);
    }
  }
  if (status = WriteTables(changed, report); !status.ok()) return status;
  status = WriteChanged(
      upserted(change.frontends, desired.frontends),
      absl::btree_map<ferry_frontend_key, ferry_frontend, FrontendKeyLess>{},
      [&](const ferry_frontend_key& key, const ferry_frontend& frontend) {
        return Count(store_.UpsertFrontend(key, frontend), report.frontend_upserts,
                     absl::StrCat("writing ", FrontendName(key)));
      });
  if (!status.ok()) return status;
  for (const auto& [key, was] : change.frontends) {
    if (!was || desired.frontends.contains(key)) continue;
    status = Count(store_.DeleteFrontend(key), report.frontend_deletes,
                   absl::StrCat("deleting ", FrontendName(key)));
    if (!status.ok()) return status;
  }
  if (status = store_.DeleteMaglevTables(absent_tables); !status.ok()) {
    tables_learned_ = false;
    return absl::Status(status.code(),
                        absl::StrCat("deleting Maglev tables: ", status.message()));
  }
  report.table_deletes += static_cast<int>(absent_tables.size());
  for (uint32_t id : absent_tables) tables_.erase(id);
  for (const auto& [id, was] : change.backends) {
    if (!was || desired.backends.contains(id)) continue;
    status = Count(store_.DeleteBackend(id), report.backend_deletes,
                   absl::StrCat("deleting backend ", id));
    if (!status.ok()) return status;
  }
  return report;
}

}  // namespace ferry::lb
