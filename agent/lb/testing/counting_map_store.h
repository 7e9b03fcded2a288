// A MapStore that forwards to another (the real maps) and logs every write,
// so a test can count what a reconcile pass did to real maps.
#ifndef FERRY_AGENT_LB_TESTING_COUNTING_MAP_STORE_H_
#define FERRY_AGENT_LB_TESTING_COUNTING_MAP_STORE_H_

#include <vector>

#include "agent/lb/map_store.h"
#include "agent/lb/testing/fake_map_store.h"

namespace ferry::lb::testing {

class CountingMapStore final : public MapStore {
 public:
  explicit CountingMapStore(MapStore& maps) : maps_(maps) {}

  const std::vector<Op>& log() const { return log_; }
  void ClearLog() { log_.clear(); }

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
  absl::Status Logged(absl::Status status, OpKind kind, uint32_t id) {
    log_.push_back({kind, id});
    return status;
  }

  MapStore& maps_;
  std::vector<Op> log_;
};

}  // namespace ferry::lb::testing

#endif  // FERRY_AGENT_LB_TESTING_COUNTING_MAP_STORE_H_
