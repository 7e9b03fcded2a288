// Typed access to the datapath's maps, either of a loaded Datapath or of the
// maps pinned under a node's pin directory (ferryctl reads them with no agent
// running). Keys and values are the layout.h structs, in network byte order.
//
// Writers are for one process at a time (the node's agent): the vips
// reference counts below are read-modify-write, not atomic across writers.
#ifndef FERRY_AGENT_DATAPATH_MAPS_H_
#define FERRY_AGENT_DATAPATH_MAPS_H_

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/addr.h"
#include "agent/datapath/fd.h"
#include "layout.h"

struct bpf_object;

namespace ferry::datapath {

template <typename Key, typename Value>
using Entries = std::vector<std::pair<Key, Value>>;

// Map keys and values are plain bytes (layout.h's structs leave no padding
// unnamed), so that is how two of them compare.
template <typename T>
bool SameBytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

struct NamedCount {
  absl::string_view name;  // from layout.h's X-macros
  uint64_t count;         // summed over all CPUs
};

class LbMaps {
 public:
  enum class Access { kReadOnly, kReadWrite };

  // Opens every map through `open_map(name)` (name as in layout.h's
  // FERRY_MAP_*).
  static absl::StatusOr<LbMaps> Open(
      absl::FunctionRef<absl::StatusOr<Fd>(absl::string_view map_name)> open_map);
  // Opens the maps of a loaded BPF object (duplicated fds: the LbMaps may
  // outlive the object).
  static absl::StatusOr<LbMaps> FromObject(const bpf_object* object);
  // Opens the maps pinned in pin_dir. NotFound names the directory when no
  // maps are pinned there.
  static absl::StatusOr<LbMaps> OpenPinned(const std::filesystem::path& pin_dir,
                                           Access access);

  // Frontends. The vips map counts the frontends of each VIP and vip_filter
  // the VIPs of each filter slot: these two keep both consistent (a VIP
  // appears with its first frontend and disappears with its last), so callers
  // never write them themselves.
  absl::Status UpsertFrontend(const ferry_frontend_key& key, const ferry_frontend& value);
  // Also forgets the frontend's flows: the datapath trusts a conntrack hit
  // without looking the frontend up. OK if the frontend does not exist.
  absl::Status DeleteFrontend(const ferry_frontend_key& key);

  // Replaces service_id's Maglev table (slot -> backend id) in one step: a
  // new inner array is filled, then swapped into maglev_tables, so a packet
  // sees either the old table or the new one. The frontends' maglev_size
  // must equal backend_ids.size() once both are written.
  absl::Status SetMaglevTable(uint32_t service_id, std::span<const uint32_t> backend_ids);
  struct MaglevTableWrite {
    uint32_t service_id;
    std::span<const uint32_t> backend_ids;
  };
  // SetMaglevTable for many services, each swapped whole, in as few
  // syscalls as the kernel allows: every update of a map of maps waits for
  // an RCU grace period (~10 ms), so one at a time, 10,000 services would
  // take minutes. On failure, the tables before the failing one are written.
  absl::Status SetMaglevTables(std::span<const MaglevTableWrite> tables);
  // NotFound if the service has no table.
  absl::StatusOr<std::vector<uint32_t>> ReadMaglevTable(uint32_t service_id) const;
  // The service ids that have a table, without reading the tables.
  absl::StatusOr<std::vector<uint32_t>> ListMaglevTableIds() const;
  // OK if the service has no table.
  absl::Status DeleteMaglevTable(uint32_t service_id);
  // DeleteMaglevTable for many (one at a time: the kernel has no batch
  // delete for maps of maps).
  absl::Status DeleteMaglevTables(std::span<const uint32_t> service_ids);

  // backends and nodes are arrays: deleting zeroes the slot (a backend
  // without FERRY_BACKEND_ACTIVE, a node with family NONE, is absent).
  absl::Status UpsertBackend(uint32_t backend_id, const ferry_backend& backend);
  absl::Status DeleteBackend(uint32_t backend_id);
  absl::Status UpsertNode(uint32_t node_id, const ferry_node& node);
  absl::Status DeleteNode(uint32_t node_id);
  absl::Status UpsertEndpoint(const ferry_addr_key& pod, const ferry_endpoint& endpoint);
  // OK if the endpoint does not exist.
  absl::Status DeleteEndpoint(const ferry_addr_key& pod);

  absl::Status SetConfig(const ferry_config& config);
  absl::StatusOr<ferry_config> GetConfig() const;

  // Zeroes a service's counters, e.g. before its id is given to a new
  // service.
  absl::Status ClearServiceStats(uint32_t service_id);

  absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> ListFrontends() const;
  absl::StatusOr<Entries<ferry_addr_key, ferry_vip>> ListVips() const;
  // Active backends only.
  absl::StatusOr<Entries<uint32_t, ferry_backend>> ListBackends() const;
  // Nodes with a family only.
  absl::StatusOr<Entries<uint32_t, ferry_node>> ListNodes() const;
  absl::StatusOr<Entries<ferry_addr_key, ferry_endpoint>> ListEndpoints() const;
  absl::StatusOr<Entries<ferry_flow_key, ferry_flow>> ListFlows() const;
  absl::StatusOr<Entries<ferry_flow_key, ferry_rev_nat>> ListRevNat() const;

  // L2 announcements (bpf/lib/l2.h): the VIPs this node answers ARP/NDP for,
  // one entry per (VIP, interface), and the liveness deadline that fences
  // every answer. Deleting is OK when the entry does not exist.
  absl::Status UpsertL2Announcement(const ferry_l2_announce_key& key,
                                    const ferry_l2_announce& value);
  absl::Status DeleteL2Announcement(const ferry_l2_announce_key& key);
  absl::StatusOr<Entries<ferry_l2_announce_key, ferry_l2_announce>> ListL2Announcements() const;
  // CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns); 0 silences every answer.
  absl::Status SetL2LivenessDeadline(uint64_t deadline_ns);
  absl::StatusOr<uint64_t> L2LivenessDeadline() const;

  absl::StatusOr<ferry_service_stats> ServiceStats(uint32_t service_id) const;
  // One entry per drop reason / event, in enum order, zeros included.
  absl::StatusOr<std::vector<NamedCount>> DropCounts() const;
  absl::StatusOr<std::vector<NamedCount>> EventCounts() const;

 private:
  struct Map {
    Fd fd;
    absl::string_view name;
  };

  LbMaps() = default;
  absl::Status AdjustVipCount(const ferry_frontend_key& key, int delta);
  absl::Status AdjustVipFilter(const ferry_addr_key& vip, int delta);
  absl::Status DeleteFlowsTo(const ferry_frontend_key& key);

  Map frontends_, vips_, vip_filter_, maglev_tables_, backends_, nodes_, flows_, rev_nat_, endpoints_,
      config_, service_stats_, drops_, events_, l2_announce_, l2_liveness_;
};

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_MAPS_H_
