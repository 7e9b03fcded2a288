#include "agent/lb/ids.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace ferry::lb {

IdAllocator::IdAllocator(uint32_t capacity) : capacity_(capacity) {}

IdAllocator IdAllocator::Recover(uint32_t capacity,
                                 const std::vector<std::pair<std::string, uint32_t>>& in_use,
                                 const std::vector<uint32_t>& stale) {
  IdAllocator allocator(capacity);
  std::vector<bool> seen(capacity, false);
  std::vector<uint32_t> stale_ids;
  for (const auto& [key, id] : in_use) {
    if (id >= capacity || seen[id] || allocator.ids_.contains(key)) continue;
    seen[id] = true;
    allocator.ids_.emplace(key, id);
  }
  for (uint32_t id : stale) {
    if (id >= capacity || seen[id]) continue;
    seen[id] = true;
    stale_ids.push_back(id);
  }
  const auto highest = std::find(seen.rbegin(), seen.rend(), true);
  allocator.next_unused_ = static_cast<uint32_t>(seen.rend() - highest);
  for (uint32_t id = 0; id < allocator.next_unused_; ++id) {
    if (!seen[id]) allocator.released_.push_back(id);
  }
  allocator.released_.insert(allocator.released_.end(), stale_ids.begin(), stale_ids.end());
  return allocator;
}

std::optional<uint32_t> IdAllocator::Take() {
  if (next_unused_ < capacity_) return next_unused_++;
  if (released_.empty()) return std::nullopt;
  const uint32_t id = released_.front();
  released_.pop_front();
  return id;
}

std::vector<std::string> IdAllocator::Sync(const std::vector<std::string>& live) {
  const absl::flat_hash_set<absl::string_view> wanted(live.begin(), live.end());
  std::vector<std::pair<std::string, uint32_t>> gone;
  for (const auto& entry : ids_) {
    if (!wanted.contains(entry.first)) gone.push_back(entry);
  }
  // Released in id order, so the reuse order does not depend on hashing.
  std::sort(gone.begin(), gone.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (const auto& [key, id] : gone) {
    ids_.erase(key);
    released_.push_back(id);
  }
  std::vector<std::string> unassigned;
  for (const std::string& key : live) {
    if (ids_.contains(key)) continue;
    std::optional<uint32_t> id = Take();
    if (!id) {
      unassigned.push_back(key);
      continue;
    }
    ids_.emplace(key, *id);
  }
  return unassigned;
}

std::optional<uint32_t> IdAllocator::Acquire(absl::string_view key) {
  if (std::optional<uint32_t> id = Find(key)) return id;
  std::optional<uint32_t> id = Take();
  if (id) ids_.emplace(std::string(key), *id);
  return id;
}

void IdAllocator::Release(absl::string_view key) {
  auto it = ids_.find(key);
  if (it == ids_.end()) return;
  released_.push_back(it->second);
  ids_.erase(it);
}

std::optional<uint32_t> IdAllocator::Find(absl::string_view key) const {
  auto it = ids_.find(key);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ferry::lb
