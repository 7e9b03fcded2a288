#include "agent/controllers/ipam/view.h"

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace ferry::ferryd {
namespace {

namespace api = ::ferry::agent::v1;

void SetCondition(const ipam::Condition& condition, api::Condition& out) {
  out.set_type(condition.type);
  out.set_status(condition.status ? "True" : "False");
  out.set_reason(condition.reason);
  out.set_message(condition.message);
  out.set_last_transition_unix_ns(absl::ToUnixNanos(condition.last_transition_time));
}

void SetUsage(const ipam::FamilyUsage& usage, api::FamilyUsage& out) {
  out.set_total(Decimal(usage.total));
  out.set_used(Decimal(usage.used));
  out.set_free(Decimal(usage.free));
}

}  // namespace

api::PoolList ListPools(const IpamController& ipam) {
  api::PoolList list;
  for (const std::string& name : ipam.allocator().PoolNames()) {
    api::Pool* pool = list.add_pools();
    pool->set_name(name);
    if (auto known = ipam.pools().find(name); known != ipam.pools().end()) {
      for (const ipam::Block& block : known->second.blocks) pool->add_blocks(block.ToString());
      pool->set_disabled(known->second.disabled);
    }
    if (const std::optional<ipam::PoolStatus> status = ipam.allocator().StatusOf(name)) {
      for (const ipam::Condition& condition : status->conditions) {
        SetCondition(condition, *pool->add_conditions());
      }
      SetUsage(status->ipv4, *pool->mutable_ipv4());
      SetUsage(status->ipv6, *pool->mutable_ipv6());
    }
  }
  return list;
}

api::AllocationList ListAllocations(const IpamController& ipam) {
  api::AllocationList list;
  for (const auto& [ref, allocation] : ipam.allocator().Allocations()) {
    api::Allocation* out = list.add_allocations();
    out->set_namespace_(ref.namespace_);
    out->set_name(ref.name);
    for (const ipam::Grant& grant : allocation.grants) {
      api::Grant* granted = out->add_grants();
      granted->set_address(grant.address.ToString());
      granted->set_pool(grant.pool);
      granted->set_since_unix_ns(absl::ToUnixNanos(grant.since));
    }
    SetCondition(allocation.condition, *out->mutable_condition());
  }
  return list;
}

}  // namespace ferry::ferryd
