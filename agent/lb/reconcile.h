// Brings the maps to a desired state by writing only what differs, in an
// order that never shows the datapath a half-written state:
//  1. nodes, then backends, added or changed (before anything names them);
//  2. counters of a service id new to the frontends cleared; tables whose
//     content changed replaced whole, each in one step;
//  3. frontends added or changed (their table is in place);
//  4. frontends removed (and with them their flows), then their tables;
//  5. backends removed, then nodes (nothing names them any more).
// A failed write stops the pass there: everything written so far is a
// consistent mix of old and new, and the next pass finishes the job.
#ifndef FERRY_AGENT_LB_RECONCILE_H_
#define FERRY_AGENT_LB_RECONCILE_H_

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "agent/lb/desired.h"
#include "agent/lb/map_store.h"

namespace ferry::lb {

// Map writes of one pass, by kind.
struct ReconcileReport {
  int node_upserts = 0;
  int backend_upserts = 0;
  int stats_clears = 0;
  int table_writes = 0;
  int frontend_upserts = 0;
  int frontend_deletes = 0;
  int table_deletes = 0;
  int backend_deletes = 0;
  int node_deletes = 0;

  int writes() const;
  friend bool operator==(const ReconcileReport&, const ReconcileReport&) = default;
};
// "node_upserts=1 backend_upserts=2 ..." (kinds with no write left out)
std::string ToString(const ReconcileReport& report);

class Reconciler {
 public:
  // `store` must outlive the reconciler, and nothing else may write the
  // Maglev tables: the reconciler remembers what each holds rather than
  // reading 16381 slots per service on every pass.
  explicit Reconciler(MapStore& store) : store_(store) {}

  // frontends, backends and nodes are read from the store on every pass.
  // Tables are read (and compared slot by slot with the desired ones) on the
  // first pass only, which is how a restarted agent adopts the tables it
  // finds without rewriting them.
  absl::StatusOr<ReconcileReport> Reconcile(const DesiredState& desired);
  // Writes the entries of `change` that `desired` holds differently, in the
  // same order; nothing else is read or compared. `change` must come from
  // updating a desired state that a pass wrote whole (a Reconcile, then
  // ReconcileChanges that succeeded); after a failure, Reconcile again.
  absl::StatusOr<ReconcileReport> ReconcileChange(const DesiredState& desired,
                                                  const DesiredChange& change);

  // Backend id -> slots it holds in service `service_id`'s table, as written
  // or verified; nullptr for a table this reconciler does not vouch for.
  const absl::flat_hash_map<uint32_t, uint32_t>* SlotCounts(uint32_t service_id) const;

 private:
  struct KnownTable {
    MaglevTableSpec spec;  // empty: the table holds something else
    absl::flat_hash_map<uint32_t, uint32_t> slots_per_backend;
  };
  absl::Status LearnTables(const DesiredState& desired);
  // Sets the changed tables, in batches, and remembers them.
  absl::Status WriteTables(std::span<const std::pair<uint32_t, const MaglevTableSpec*>> changed,
                           ReconcileReport& report);
  void Remember(uint32_t id, const MaglevTableSpec& spec, const std::vector<uint32_t>& slots);

  MapStore& store_;
  bool tables_learned_ = false;
  // What each table holds.
  absl::flat_hash_map<uint32_t, KnownTable> tables_;
};

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_RECONCILE_H_
