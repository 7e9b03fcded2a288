#include "agent/datapath/map_io.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"

namespace ferry::datapath::internal {
namespace {

// Entries per batch syscall; doubled when one hash bucket holds more.
constexpr uint32_t kInitialBatch = 4096;
constexpr uint32_t kMaxBatch = 1u << 20;
// Large enough for any map's batch cursor (a key or a bucket index).
constexpr size_t kCursorSize = 64;

}  // namespace

absl::Status MapError(absl::string_view what, absl::string_view map, int err) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", map));
}

absl::Status Update(int fd, absl::string_view map, const void* key, const void* value) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) {
    return MapError("update", map, errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Lookup(int fd, absl::string_view map, const void* key, void* value) {
  if (bpf_map_lookup_elem(fd, key, value) == 0) return true;
  if (errno == ENOENT) return false;
  return MapError("lookup in", map, errno);
}

absl::Status Delete(int fd, absl::string_view map, const void* key) {
  if (bpf_map_delete_elem(fd, key) == 0 || errno == ENOENT) return absl::OkStatus();
  return MapError("delete from", map, errno);
}

absl::StatusOr<RawEntries> ReadAll(int fd, absl::string_view map, size_t key_size,
                                   size_t value_size) {
  RawEntries result;
  alignas(8) uint8_t in_cursor[kCursorSize] = {};
  alignas(8) uint8_t out_cursor[kCursorSize] = {};
  bool first = true;
  uint32_t batch = kInitialBatch;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    result.keys.resize((result.count + batch) * key_size);
    result.values.resize((result.count + batch) * value_size);
    uint32_t count = batch;
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : in_cursor, out_cursor,
                                         result.keys.data() + result.count * key_size,
                                         result.values.data() + result.count * value_size,
                                         &count, &opts);
    const int saved_errno = errno;
    result.count += count;
    if (err != 0 && saved_errno == ENOENT) break;  // the map is exhausted
    if (err != 0 && saved_errno == ENOSPC && count == 0 && batch < kMaxBatch) {
      batch *= 2;  // one hash bucket holds more than a batch: retry bigger
      continue;
    }
    if (err != 0) return MapError("batch lookup in", map, saved_errno);
    std::memcpy(in_cursor, out_cursor, kCursorSize);
    first = false;
  }
  result.keys.resize(result.count * key_size);
  result.values.resize(result.count * value_size);
  return result;
}

absl::StatusOr<int> PossibleCpus() {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return absl::ErrnoToStatus(-cpus, "counting possible CPUs");
  return cpus;
}

}  // namespace ferry::datapath::internal
