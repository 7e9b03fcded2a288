#include "agent/maglev/maglev.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "flow_hash.h"

namespace ferry::maglev {
namespace {

// Two independent hashes of a backend's key: where its permutation starts
// and how far it steps. Changing either reshuffles every table in a cluster.
constexpr uint32_t kOffsetSeed = 0x6d61676c;
constexpr uint32_t kSkipSeed = 0x65763031;
constexpr uint32_t kEmptySlot = std::numeric_limits<uint32_t>::max();

// The datapath's hash over an arbitrary byte string: 32-bit words in memory
// order, the zero-padded tail as a last word, the length in the finaliser.
uint32_t HashBytes(std::string_view bytes, uint32_t seed) {
  uint32_t h = seed;
  size_t i = 0;
  for (; i + 4 <= bytes.size(); i += 4) {
    uint32_t word;
    std::memcpy(&word, bytes.data() + i, 4);
    h = ferry_hash_round(h, word);
  }
  if (i < bytes.size()) {
    uint32_t tail = 0;
    std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    h = ferry_hash_round(h, tail);
  }
  return ferry_hash_finish(h, static_cast<uint32_t>(bytes.size()));
}

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

// The accepted size closest to m, to suggest in an error.
uint32_t NearestValidSize(uint64_t m) {
  if (m >= kMaxTableSize) return kMaxTableSize;
  m = std::max<uint64_t>(m, 3);
  for (uint64_t distance = 0;; ++distance) {
    if (m + distance <= kMaxTableSize && IsPrime(m + distance)) return m + distance;
    if (m >= distance + 3 && IsPrime(m - distance)) return m - distance;
  }
}

// A backend's permutation of the slots, walked lazily: the paper's
// permutation[j] = (offset + j * skip) % M without materialising N x M
// entries. `next` is the next preferred slot not yet tried.
struct Preference {
  uint32_t next;
  uint32_t skip;
  uint32_t weight;
  uint32_t caller_index;
};

absl::Status ValidateBackends(std::span<const Backend> backends,
                              std::span<const uint32_t> by_key, uint32_t table_size) {
  if (backends.empty()) {
    return absl::InvalidArgumentError("maglev table needs at least one backend, got none");
  }
  if (backends.size() > table_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(backends.size(), " backends do not fit in a maglev table of ", table_size,
                     " slots; use a larger prime table size (at most ", kMaxTableSize, ")"));
  }
  for (size_t i = 0; i < by_key.size(); ++i) {
    const Backend& backend = backends[by_key[i]];
    if (backend.key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("maglev backend #", by_key[i], " has an empty key"));
    }
    if (backend.weight == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "maglev backend \"", backend.key, "\" has weight 0; weights must be at least 1"));
    }
    if (i > 0 && backends[by_key[i - 1]].key == backend.key) {
      return absl::InvalidArgumentError(
          absl::StrCat("maglev backend \"", backend.key, "\" is listed twice (#",
                       std::min(by_key[i - 1], by_key[i]), " and #",
                       std::max(by_key[i - 1], by_key[i]), "); keys must be unique"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTableSize(uint64_t m) {
  const std::string accepted =
      absl::StrCat("use a prime between 3 and ", kMaxTableSize, ", such as ", NearestValidSize(m));
  if (m > kMaxTableSize) {
    return absl::InvalidArgumentError(absl::StrCat("maglev table size ", m,
                                                   " exceeds the maximum ", kMaxTableSize, "; ",
                                                   accepted));
  }
  if (m < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("maglev table size ", m, " is too small; ", accepted));
  }
  if (!IsPrime(m)) {
    return absl::InvalidArgumentError(
        absl::StrCat("maglev table size ", m, " is not prime; ", accepted));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> BuildTable(std::span<const Backend> backends,
                                                 uint32_t table_size) {
  if (absl::Status status = ValidateTableSize(table_size); !status.ok()) return status;

  // Turns are taken in key order, never the caller's order, so every node
  // fills the same slots with the same keys.
  std::vector<uint32_t> by_key(backends.size());
  std::iota(by_key.begin(), by_key.end(), 0u);
  std::sort(by_key.begin(), by_key.end(),
            [&](uint32_t a, uint32_t b) { return backends[a].key < backends[b].key; });
  if (absl::Status status = ValidateBackends(backends, by_key, table_size); !status.ok()) {
    return status;
  }

  // Only the ratios of weights matter: scaling every weight by the same
  // factor must not reshuffle the table.
  uint32_t common_divisor = 0;
  for (const Backend& backend : backends) {
    common_divisor = std::gcd(common_divisor, backend.weight);
  }

  std::vector<Preference> preferences;
  preferences.reserve(by_key.size());
  for (uint32_t index : by_key) {
    const Backend& backend = backends[index];
    preferences.push_back({
        .next = HashBytes(backend.key, kOffsetSeed) % table_size,
        .skip = HashBytes(backend.key, kSkipSeed) % (table_size - 1) + 1,
        .weight = backend.weight / common_divisor,
        .caller_index = index,
    });
  }

  // Backends take turns claiming their next preferred free slot; a backend
  // of weight w takes w turns per round. Since M is prime every permutation
  // reaches every slot, so each search ends while a slot is free.
  std::vector<uint32_t> table(table_size, kEmptySlot);
  uint32_t filled = 0;
  while (true) {
    for (Preference& preference : preferences) {
      for (uint32_t turn = 0; turn < preference.weight; ++turn) {
        while (table[preference.next] != kEmptySlot) {
          preference.next += preference.skip;
          if (preference.next >= table_size) preference.next -= table_size;
        }
        table[preference.next] = preference.caller_index;
        if (++filled == table_size) return table;
      }
    }
  }
}

}  // namespace ferry::maglev
