#include "agent/datapath/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/datapath/map_io.h"
#include "agent/datapath/names.h"
#include "agent/maglev/maglev.h"
#include "flow_hash.h"

namespace ferry::datapath {

using internal::Delete;
using internal::Lookup;
using internal::MapError;
using internal::ReadAllTyped;
using internal::Update;

namespace {

ferry_addr_key VipOf(const ferry_frontend_key& key) {
  ferry_addr_key vip{};
  vip.addr = key.vip;
  vip.family = key.family;
  return vip;
}

// Sums a per-CPU value of T (an array of u64 fields) over every CPU.
template <typename T>
absl::StatusOr<T> SumPerCpu(int fd, absl::string_view map, uint32_t index) {
  static_assert(sizeof(T) % sizeof(uint64_t) == 0);
  absl::StatusOr<int> cpus = internal::PossibleCpus();
  if (!cpus.ok()) return cpus.status();
  const size_t stride = internal::PerCpuStride(sizeof(T));
  std::vector<uint64_t> raw(*cpus * stride / sizeof(uint64_t));
  absl::StatusOr<bool> found = Lookup(fd, map, &index, raw.data());
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("no index ", index, " in ", map));
  constexpr size_t kFields = sizeof(T) / sizeof(uint64_t);
  uint64_t sums[kFields] = {};
  for (int cpu = 0; cpu < *cpus; ++cpu) {
    for (size_t f = 0; f < kFields; ++f) sums[f] += raw[cpu * stride / sizeof(uint64_t) + f];
  }
  T total;
  std::memcpy(&total, sums, sizeof(T));
  return total;
}

absl::StatusOr<std::vector<NamedCount>> NamedCounts(int fd, absl::string_view map,
                                                    std::span<const absl::string_view> names) {
  std::vector<NamedCount> counts;
  counts.reserve(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<uint64_t> count = SumPerCpu<uint64_t>(fd, map, i);
    if (!count.ok()) return count.status();
    counts.push_back({names[i], *count});
  }
  return counts;
}

// Slot 0 of a one-slot array map (config, l2_liveness).
template <typename T>
absl::StatusOr<T> ReadSingleton(int fd, absl::string_view map) {
  const uint32_t index = 0;
  T value{};
  absl::StatusOr<bool> found = Lookup(fd, map, &index, &value);
  if (!found.ok()) return found.status();
  return value;  // an array slot always exists
}

template <typename T>
absl::Status WriteSingleton(int fd, absl::string_view map, const T& value) {
  const uint32_t index = 0;
  return Update(fd, map, &index, &value);
}

template <typename Key, typename Value, typename Keep>
absl::StatusOr<Entries<Key, Value>> ReadFiltered(int fd, absl::string_view map, Keep keep) {
  absl::StatusOr<Entries<Key, Value>> all = ReadAllTyped<Key, Value>(fd, map);
  if (!all.ok()) return all.status();
  std::erase_if(*all, [&](const auto& entry) { return !keep(entry.second); });
  return all;
}

}  // namespace

absl::StatusOr<LbMaps> LbMaps::Open(
    absl::FunctionRef<absl::StatusOr<Fd>(absl::string_view map_name)> open_map) {
  LbMaps maps;
  const std::pair<Map LbMaps::*, absl::string_view> kMaps[] = {
      {&LbMaps::frontends_, FERRY_MAP_FRONTENDS},
      {&LbMaps::vips_, FERRY_MAP_VIPS},
      {&LbMaps::vip_filter_, FERRY_MAP_VIP_FILTER},
      {&LbMaps::maglev_tables_, FERRY_MAP_MAGLEV},
      {&LbMaps::backends_, FERRY_MAP_BACKENDS},
      {&LbMaps::nodes_, FERRY_MAP_NODES},
      {&LbMaps::flows_, FERRY_MAP_FLOWS},
      {&LbMaps::rev_nat_, FERRY_MAP_REV_NAT},
      {&LbMaps::endpoints_, FERRY_MAP_ENDPOINTS},
      {&LbMaps::config_, FERRY_MAP_CONFIG},
      {&LbMaps::service_stats_, FERRY_MAP_SERVICE_STATS},
      {&LbMaps::drops_, FERRY_MAP_DROPS},
      {&LbMaps::events_, FERRY_MAP_EVENTS},
      {&LbMaps::l2_announce_, FERRY_MAP_L2_ANNOUNCE},
      {&LbMaps::l2_liveness_, FERRY_MAP_L2_LIVENESS},
  };
  for (const auto& [member, name] : kMaps) {
    absl::StatusOr<Fd> fd = open_map(name);
    if (!fd.ok()) return fd.status();
    maps.*member = Map{std::move(*fd), name};
  }
  return maps;
}

absl::StatusOr<LbMaps> LbMaps::FromObject(const bpf_object* object) {
  return Open([object](absl::string_view name) -> absl::StatusOr<Fd> {
    const std::string map_name(name);
    const int fd = bpf_object__find_map_fd_by_name(object, map_name.c_str());
    if (fd < 0) return absl::NotFoundError(absl::StrCat("the BPF object has no map ", name));
    Fd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!copy.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("duplicating map ", name));
    return copy;
  });
}

absl::StatusOr<LbMaps> LbMaps::OpenPinned(const std::filesystem::path& pin_dir,
                                          Access access) {
  std::error_code error;
  if (!std::filesystem::exists(pin_dir / FERRY_MAP_FRONTENDS, error)) {
    return absl::NotFoundError(absl::StrCat("no pinned maps at ", pin_dir.string()));
  }
  return Open([&](absl::string_view name) -> absl::StatusOr<Fd> {
    const std::filesystem::path path = pin_dir / std::string(name);
    LIBBPF_OPTS(bpf_obj_get_opts, opts,
                .file_flags = access == Access::kReadOnly ? uint32_t{BPF_F_RDONLY} : 0u);
    Fd fd(bpf_obj_get_opts(path.c_str(), &opts));
    if (!fd.valid()) {
      return absl::ErrnoToStatus(errno, absl::StrCat("opening pinned map ", path.string()));
    }
    return fd;
  });
}

absl::Status LbMaps::AdjustVipFilter(const ferry_addr_key& vip, int delta) {
  const uint32_t slot = ferry_vip_filter_slot(&vip.addr);
  uint32_t vips_here = 0;
  absl::StatusOr<bool> found = Lookup(vip_filter_.fd.get(), vip_filter_.name, &slot, &vips_here);
  if (!found.ok()) return found.status();
  vips_here = static_cast<uint32_t>(std::max<int64_t>(int64_t{vips_here} + delta, 0));
  return Update(vip_filter_.fd.get(), vip_filter_.name, &slot, &vips_here);
}

absl::Status LbMaps::AdjustVipCount(const ferry_frontend_key& key, int delta) {
  const ferry_addr_key vip = VipOf(key);
  ferry_vip value{};
  absl::StatusOr<bool> found = Lookup(vips_.fd.get(), vips_.name, &vip, &value);
  if (!found.ok()) return found.status();
  const int64_t frontends = int64_t{value.frontends} + delta;
  if (frontends <= 0) {
    // The filter slot goes last, so the datapath never skips a live VIP.
    if (absl::Status status = Delete(vips_.fd.get(), vips_.name, &vip); !status.ok()) {
      return status;
    }
    return *found ? AdjustVipFilter(vip, -1) : absl::OkStatus();
  }
  if (!*found) {
    // The filter slot goes first, for the same reason.
    if (absl::Status status = AdjustVipFilter(vip, +1); !status.ok()) return status;
  }
  value.frontends = static_cast<uint32_t>(frontends);
  return Update(vips_.fd.get(), vips_.name, &vip, &value);
}

absl::Status LbMaps::DeleteFlowsTo(const ferry_frontend_key& key) {
  absl::StatusOr<Entries<ferry_flow_key, ferry_flow>> flows = ListFlows();
  if (!flows.ok()) return flows.status();
  for (const auto& [flow, value] : *flows) {
    if (flow.family == key.family && flow.proto == key.proto && flow.dport == key.port &&
        std::memcmp(&flow.dst, &key.vip, sizeof(flow.dst)) == 0) {
      if (absl::Status status = Delete(flows_.fd.get(), flows_.name, &flow); !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status LbMaps::UpsertFrontend(const ferry_frontend_key& key,
                                    const ferry_frontend& value) {
  ferry_frontend existing;
  absl::StatusOr<bool> found = Lookup(frontends_.fd.get(), frontends_.name, &key, &existing);
  if (!found.ok()) return found.status();
  if (*found) return Update(frontends_.fd.get(), frontends_.name, &key, &value);
  if (absl::Status status = AdjustVipCount(key, +1); !status.ok()) return status;
  absl::Status status = Update(frontends_.fd.get(), frontends_.name, &key, &value);
  if (!status.ok()) AdjustVipCount(key, -1).IgnoreError();  // the original error matters
  return status;
}

absl::Status LbMaps::DeleteFrontend(const ferry_frontend_key& key) {
  ferry_frontend existing;
  absl::StatusOr<bool> found = Lookup(frontends_.fd.get(), frontends_.name, &key, &existing);
  if (!found.ok() || !*found) return found.status();
  if (absl::Status status = Delete(frontends_.fd.get(), frontends_.name, &key); !status.ok()) {
    return status;
  }
  if (absl::Status status = AdjustVipCount(key, -1); !status.ok()) return status;
  return DeleteFlowsTo(key);
}

absl::Status LbMaps::SetMaglevTable(uint32_t service_id,
                                    std::span<const uint32_t> backend_ids) {
  const MaglevTableWrite table[] = {{service_id, backend_ids}};
  return SetMaglevTables(table);
}

namespace {

// How many inner tables are made (and hold an fd) before one batched swap.
constexpr size_t kTablesPerBatch = 256;

// A new inner array holding `backend_ids`.
absl::StatusOr<Fd> FilledMaglevTable(uint32_t service_id, std::span<const uint32_t> backend_ids,
                                     absl::string_view outer_name) {
  if (backend_ids.empty() || backend_ids.size() > maglev::kMaxTableSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("Maglev table of service ", service_id, " has ", backend_ids.size(),
                     " slots; expected 1 to ", maglev::kMaxTableSize));
  }
  const uint32_t slots = static_cast<uint32_t>(backend_ids.size());
  // The kernel accepts an inner map only if type, key/value sizes and flags
  // equal the template's (bpf/lib/maps.h: ARRAY, u32 -> u32,
  // BPF_F_INNER_MAP); BPF_F_INNER_MAP is what lets max_entries differ.
  LIBBPF_OPTS(bpf_map_create_opts, create_opts, .map_flags = BPF_F_INNER_MAP);
  Fd table(bpf_map_create(BPF_MAP_TYPE_ARRAY, "ferry_maglev", sizeof(uint32_t),
                          sizeof(uint32_t), slots, &create_opts));
  if (!table.valid()) {
    return MapError(absl::StrCat("creating the Maglev table (", slots, " slots) of service ",
                                 service_id, " for"),
                    outer_name, errno);
  }
  std::vector<uint32_t> keys(slots);
  std::iota(keys.begin(), keys.end(), 0u);
  uint32_t count = slots;
  LIBBPF_OPTS(bpf_map_batch_opts, batch_opts);
  if (bpf_map_update_batch(table.get(), keys.data(), backend_ids.data(), &count,
                           &batch_opts) != 0) {
    return MapError(absl::StrCat("filling the Maglev table of service ", service_id, " for"),
                    outer_name, errno);
  }
  return table;
}

// The kernel's ENOTSUPP (not in user space headers): what a map type without
// a batch operation answers.
constexpr int kKernelNotSupported = 524;

// Kernels whose map of maps has no batch operation say so with one of these.
bool BatchUnsupported(int err) {
  return err == kKernelNotSupported || err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP;
}

}  // namespace

absl::Status LbMaps::SetMaglevTables(std::span<const MaglevTableWrite> tables) {
  for (size_t start = 0; start < tables.size(); start += kTablesPerBatch) {
    const std::span<const MaglevTableWrite> chunk =
        tables.subspan(start, std::min(kTablesPerBatch, tables.size() - start));
    std::vector<Fd> inner;
    std::vector<uint32_t> keys, fds;
    for (const MaglevTableWrite& table : chunk) {
      absl::StatusOr<Fd> filled =
          FilledMaglevTable(table.service_id, table.backend_ids, maglev_tables_.name);
      if (!filled.ok()) return filled.status();
      keys.push_back(table.service_id);
      fds.push_back(static_cast<uint32_t>(filled->get()));
      inner.push_back(std::move(*filled));
    }
    uint32_t count = static_cast<uint32_t>(keys.size());
    LIBBPF_OPTS(bpf_map_batch_opts, batch_opts);
    if (bpf_map_update_batch(maglev_tables_.fd.get(), keys.data(), fds.data(), &count,
                             &batch_opts) == 0) {
      continue;
    }
    if (!BatchUnsupported(errno) || count != 0) {
      return MapError(absl::StrCat("swapping in the Maglev table of service ", keys[count],
                                   " in"),
                      maglev_tables_.name, errno);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      absl::Status status = Update(maglev_tables_.fd.get(), maglev_tables_.name, &keys[i], &fds[i]);
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> LbMaps::ListMaglevTableIds() const {
  std::vector<uint32_t> ids;
  uint32_t key = 0, next = 0, inner_id = 0;
  for (uint32_t* previous = nullptr;
       bpf_map_get_next_key(maglev_tables_.fd.get(), previous, &next) == 0; previous = &key) {
    key = next;
    absl::StatusOr<bool> found =
        Lookup(maglev_tables_.fd.get(), maglev_tables_.name, &key, &inner_id);
    if (!found.ok()) return found.status();
    if (*found) ids.push_back(key);
  }
  return ids;
}

absl::StatusOr<std::vector<uint32_t>> LbMaps::ReadMaglevTable(uint32_t service_id) const {
  uint32_t table_id = 0;
  absl::StatusOr<bool> found =
      Lookup(maglev_tables_.fd.get(), maglev_tables_.name, &service_id, &table_id);
  if (!found.ok()) return found.status();
  if (!*found) {
    return absl::NotFoundError(absl::StrCat("service ", service_id, " has no Maglev table"));
  }
  Fd table(bpf_map_get_fd_by_id(table_id));
  if (!table.valid()) {
    return MapError(absl::StrCat("opening map id ", table_id, " (Maglev table of service ",
                                 service_id, ") from"),
                    maglev_tables_.name, errno);
  }
  absl::StatusOr<Entries<uint32_t, uint32_t>> slots =
      ReadAllTyped<uint32_t, uint32_t>(table.get(), "maglev table");
  if (!slots.ok()) return slots.status();
  std::vector<uint32_t> backend_ids(slots->size());
  for (const auto& [slot, backend_id] : *slots) {
    if (slot < backend_ids.size()) backend_ids[slot] = backend_id;
  }
  return backend_ids;
}

absl::Status LbMaps::DeleteMaglevTable(uint32_t service_id) {
  return Delete(maglev_tables_.fd.get(), maglev_tables_.name, &service_id);
}

absl::Status LbMaps::DeleteMaglevTables(std::span<const uint32_t> service_ids) {
  // Maps of maps have no batch delete (6.1 to 6.18): one syscall, and one
  // RCU grace period, per table.
  for (uint32_t service_id : service_ids) {
    if (absl::Status status = DeleteMaglevTable(service_id); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status LbMaps::UpsertBackend(uint32_t backend_id, const ferry_backend& backend) {
  return Update(backends_.fd.get(), backends_.name, &backend_id, &backend);
}

absl::Status LbMaps::DeleteBackend(uint32_t backend_id) {
  return UpsertBackend(backend_id, ferry_backend{});
}

absl::Status LbMaps::UpsertNode(uint32_t node_id, const ferry_node& node) {
  return Update(nodes_.fd.get(), nodes_.name, &node_id, &node);
}

absl::Status LbMaps::DeleteNode(uint32_t node_id) { return UpsertNode(node_id, ferry_node{}); }

absl::Status LbMaps::UpsertEndpoint(const ferry_addr_key& pod, const ferry_endpoint& endpoint) {
  return Update(endpoints_.fd.get(), endpoints_.name, &pod, &endpoint);
}

absl::Status LbMaps::DeleteEndpoint(const ferry_addr_key& pod) {
  return Delete(endpoints_.fd.get(), endpoints_.name, &pod);
}

absl::Status LbMaps::SetConfig(const ferry_config& config) {
  return WriteSingleton(config_.fd.get(), config_.name, config);
}

absl::StatusOr<ferry_config> LbMaps::GetConfig() const {
  return ReadSingleton<ferry_config>(config_.fd.get(), config_.name);
}

absl::Status LbMaps::ClearServiceStats(uint32_t service_id) {
  absl::StatusOr<int> cpus = internal::PossibleCpus();
  if (!cpus.ok()) return cpus.status();
  const std::vector<uint8_t> zeros(*cpus * internal::PerCpuStride(sizeof(ferry_service_stats)));
  return Update(service_stats_.fd.get(), service_stats_.name, &service_id, zeros.data());
}

absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> LbMaps::ListFrontends() const {
  return ReadAllTyped<ferry_frontend_key, ferry_frontend>(frontends_.fd.get(), frontends_.name);
}

absl::StatusOr<Entries<ferry_addr_key, ferry_vip>> LbMaps::ListVips() const {
  return ReadAllTyped<ferry_addr_key, ferry_vip>(vips_.fd.get(), vips_.name);
}

absl::StatusOr<Entries<uint32_t, ferry_backend>> LbMaps::ListBackends() const {
  return ReadFiltered<uint32_t, ferry_backend>(
      backends_.fd.get(), backends_.name,
      [](const ferry_backend& b) { return (b.flags & FERRY_BACKEND_ACTIVE) != 0; });
}

absl::StatusOr<Entries<uint32_t, ferry_node>> LbMaps::ListNodes() const {
  return ReadFiltered<uint32_t, ferry_node>(
      nodes_.fd.get(), nodes_.name,
      [](const ferry_node& n) { return n.family != FERRY_FAMILY_NONE; });
}

absl::StatusOr<Entries<ferry_addr_key, ferry_endpoint>> LbMaps::ListEndpoints() const {
  return ReadAllTyped<ferry_addr_key, ferry_endpoint>(endpoints_.fd.get(), endpoints_.name);
}

absl::StatusOr<Entries<ferry_flow_key, ferry_flow>> LbMaps::ListFlows() const {
  return ReadAllTyped<ferry_flow_key, ferry_flow>(flows_.fd.get(), flows_.name);
}

absl::StatusOr<Entries<ferry_flow_key, ferry_rev_nat>> LbMaps::ListRevNat() const {
  return ReadAllTyped<ferry_flow_key, ferry_rev_nat>(rev_nat_.fd.get(), rev_nat_.name);
}

absl::Status LbMaps::UpsertL2Announcement(const ferry_l2_announce_key& key,
                                          const ferry_l2_announce& value) {
  return Update(l2_announce_.fd.get(), l2_announce_.name, &key, &value);
}

absl::Status LbMaps::DeleteL2Announcement(const ferry_l2_announce_key& key) {
  return Delete(l2_announce_.fd.get(), l2_announce_.name, &key);
}

absl::StatusOr<Entries<ferry_l2_announce_key, ferry_l2_announce>> LbMaps::ListL2Announcements()
    const {
  return ReadAllTyped<ferry_l2_announce_key, ferry_l2_announce>(l2_announce_.fd.get(),
                                                                l2_announce_.name);
}

absl::Status LbMaps::SetL2LivenessDeadline(uint64_t deadline_ns) {
  return WriteSingleton(l2_liveness_.fd.get(), l2_liveness_.name,
                        ferry_l2_liveness{.deadline_ns = deadline_ns});
}

absl::StatusOr<uint64_t> LbMaps::L2LivenessDeadline() const {
  absl::StatusOr<ferry_l2_liveness> liveness =
      ReadSingleton<ferry_l2_liveness>(l2_liveness_.fd.get(), l2_liveness_.name);
  if (!liveness.ok()) return liveness.status();
  return liveness->deadline_ns;
}

absl::StatusOr<ferry_service_stats> LbMaps::ServiceStats(uint32_t service_id) const {
  return SumPerCpu<ferry_service_stats>(service_stats_.fd.get(), service_stats_.name,
                                        service_id);
}

absl::StatusOr<std::vector<NamedCount>> LbMaps::DropCounts() const {
  return NamedCounts(drops_.fd.get(), drops_.name, DropReasonNames());
}

absl::StatusOr<std::vector<NamedCount>> LbMaps::EventCounts() const {
  return NamedCounts(events_.fd.get(), events_.name, EventNames());
}

}  // namespace ferry::datapath
