#include "ipam/pool.h"

#include <algorithm>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::ipam {
namespace {

// A CIDR's last address: the prefix with every host bit set.
IpAddress LastOf(const IpPrefix& prefix) {
  const int bits = prefix.address.family == IpFamily::kIPv4 ? 32 : 128;
  const int host_bits = bits - prefix.length;
  const absl::uint128 host_mask =
      host_bits == 128 ? absl::Uint128Max() : (absl::uint128(1) << host_bits) - 1;
  return FromInteger(prefix.address.family, ToInteger(prefix.address) | host_mask);
}

std::optional<Block> ParseBlock(const BlockSpec& spec, const std::string& at,
                                std::vector<FieldError>& problems) {
  const bool has_range = !spec.start.empty() || !spec.stop.empty();
  if (spec.cidr.empty() == !has_range) {
    problems.push_back({at, "set either cidr, or start and stop"});
    return std::nullopt;
  }
  if (!spec.cidr.empty()) {
    absl::StatusOr<IpPrefix> prefix = IpPrefix::Parse(spec.cidr);
    if (!prefix.ok()) {
      problems.push_back({at + ".cidr", std::string(prefix.status().message())});
      return std::nullopt;
    }
    return Block{.first = prefix->address, .last = LastOf(*prefix), .prefix_length = prefix->length};
  }
  absl::StatusOr<IpAddress> start = IpAddress::Parse(spec.start);
  absl::StatusOr<IpAddress> stop = IpAddress::Parse(spec.stop);
  if (!start.ok()) problems.push_back({at + ".start", std::string(start.status().message())});
  if (!stop.ok()) problems.push_back({at + ".stop", std::string(stop.status().message())});
  if (!start.ok() || !stop.ok()) return std::nullopt;
  if (start->family != stop->family) {
    problems.push_back({at, absl::StrCat("start ", spec.start, " is ", FamilyName(start->family),
                                         " but stop ", spec.stop, " is ", FamilyName(stop->family),
                                         "; one block is one family")});
    return std::nullopt;
  }
  if (*stop < *start) {
    problems.push_back(
        {at + ".start", absl::StrCat("\"", spec.start, "\" is after stop \"", spec.stop, "\"")});
    return std::nullopt;
  }
  return Block{.first = *start, .last = *stop};
}

bool Overlap(const Block& a, const Block& b) {
  return a.family() == b.family() && a.first <= b.last && b.first <= a.last;
}

// The pool `spec` describes, with every problem found appended to
// `problems`; meaningful only when none was.
Pool Build(const PoolSpec& spec, std::vector<FieldError>& problems) {
  Pool pool{.name = spec.name,
            .disabled = spec.disabled,
            .allow_first_last_ips = spec.allow_first_last_ips,
            .avoid_buggy_ips = spec.avoid_buggy_ips,
            .creation_timestamp = spec.creation_timestamp};
  if (spec.name.empty()) problems.push_back({"metadata.name", "must not be empty"});
  if (spec.blocks.empty()) problems.push_back({"spec.blocks", "a pool needs at least one block"});
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    const std::string at = absl::StrCat("spec.blocks[", i, "]");
    std::optional<Block> block = ParseBlock(spec.blocks[i], at, problems);
    if (!block) continue;
    for (size_t j = 0; j < pool.blocks.size(); ++j) {
      if (Overlap(pool.blocks[j], *block)) {
        problems.push_back({at, absl::StrCat(block->ToString(), " overlaps ",
                                             pool.blocks[j].ToString(), " of the same pool")});
      }
    }
    pool.blocks.push_back(*block);
  }
  constexpr absl::string_view kSelectorField = "spec.serviceSelector";
  std::vector<FieldError> selector_errors =
      net::ValidateSelector(spec.service_selector, kSelectorField);
  if (selector_errors.empty()) {
    pool.service_selector = *LabelSelector::Parse(spec.service_selector, kSelectorField);
  }
  problems.insert(problems.end(), selector_errors.begin(), selector_errors.end());
  std::sort(pool.blocks.begin(), pool.blocks.end(),
            [](const Block& a, const Block& b) { return a.first < b.first; });
  return pool;
}

}  // namespace

std::string Block::ToString() const {
  if (prefix_length) return absl::StrCat(first.ToString(), "/", *prefix_length);
  return absl::StrCat(first.ToString(), "-", last.ToString());
}

Range Pool::GivableRange(const Block& block) const {
  Range range = block.Extent();
  if (!block.prefix_length || allow_first_last_ips) return range;
  if (block.family() == IpFamily::kIPv4 && *block.prefix_length <= 30) {
    ++range.first;
    --range.last;
  }
  // The Subnet-Router anycast address (RFC 4291 §2.6.1); a /127 has none
  // (RFC 6164 §6).
  if (block.family() == IpFamily::kIPv6 && *block.prefix_length <= 126) ++range.first;
  return range;
}

bool IsOlder(const Pool& a, const Pool& b) {
  return std::tie(a.creation_timestamp, a.name) < std::tie(b.creation_timestamp, b.name);
}

absl::StatusOr<Pool> ParsePool(const PoolSpec& spec) {
  std::vector<FieldError> problems;
  Pool pool = Build(spec, problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kPoolKind, " ", spec.name, ": ", net::JoinFieldErrors(problems)));
  }
  return pool;
}

std::vector<FieldError> ValidatePool(const PoolSpec& spec) {
  std::vector<FieldError> problems;
  Build(spec, problems);
  return problems;
}

}  // namespace ferry::ipam
