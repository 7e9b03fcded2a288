// An in-memory MapStore that logs every write and, if asked, checks after
// each write that the maps never show the datapath a half-written state.
#ifndef FERRY_AGENT_LB_TESTING_FAKE_MAP_STORE_H_
#define FERRY_AGENT_LB_TESTING_FAKE_MAP_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "agent/lb/desired.h"
#include "agent/lb/map_store.h"

namespace ferry::lb::testing {

enum class OpKind {
  kUpsertFrontend,
  kDeleteFrontend,
  kSetTable,
  kDeleteTable,
  kUpsertBackend,
  kDeleteBackend,
  kUpsertNode,
  kDeleteNode,
  kClearStats,
};

struct Op {
  OpKind kind;
  uint32_t id;  // the service id (frontends, tables, stats), backend id or node id
};

class FakeMapStore final : public MapStore {
 public:
  enum class Checks { kOff, kAfterEveryWrite };
  explicit FakeMapStore(Checks checks = Checks::kAfterEveryWrite) : checks_(checks) {}

  const std::vector<Op>& log() const { return log_; }
  int Count(OpKind kind) const;
  void ClearLog() { log_.clear(); }
  // Each time a write left the maps with a table slot naming an absent
  // backend, a backend naming an absent node, or a frontend whose
  // maglev_size is not its table's size.
  const std::vector<std::string>& violations() const { return violations_; }
  int table_reads() const { return table_reads_; }

  absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> ListFrontends() const override;
  absl::StatusOr<Entries<uint32_t, ferry_backend>> ListBackends() const override;
  absl::StatusOr<Entries<uint32_t, ferry_node>> ListNodes() const override;
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
  struct Table {
    std::vector<uint32_t> slots;
    std::vector<uint32_t> backend_ids;  // distinct
  };

  // One table's swap, or deletion, as the kernel does it within a batch.
  void SetTable(uint32_t service_id, std::span<const uint32_t> backend_ids);
  void DeleteTable(uint32_t service_id);
  void Violation(std::string what);
  void Record(OpKind kind, uint32_t id) { log_.push_back({kind, id}); }
  void AdjustTableRefs(const Table& table, int delta);

  Checks checks_;
  std::vector<Op> log_;
  std::vector<std::string> violations_;
  mutable int table_reads_ = 0;

  absl::btree_map<ferry_frontend_key, ferry_frontend, FrontendKeyLess> frontends_;
  absl::btree_map<uint32_t, ferry_backend> backends_;
  absl::btree_map<uint32_t, ferry_node> nodes_;
  absl::btree_map<uint32_t, Table> tables_;
  absl::flat_hash_map<uint32_t, int> tables_naming_backend_;
  absl::flat_hash_map<uint32_t, int> backends_naming_node_;
};

}  // namespace ferry::lb::testing

#endif  // FERRY_AGENT_LB_TESTING_FAKE_MAP_STORE_H_
