#include "agent/controllers/ipam/driver.h"

#include "agent/controllers/ipam/view.h"

namespace ferry::ferryd {

IpamDriver::IpamDriver(ipam::Allocator::Clock clock, LogFn log)
    : ipam_(std::move(clock)), log_(std::move(log)) {}

void IpamDriver::Run(Pass& pass) {
  if (!pass.first && !pass.delta.Changed(model::kServiceKind) &&
      !pass.delta.Changed(model::kLoadBalancerIPPoolKind)) {
    return;
  }
  for (const std::string& line : ipam_.Update(pass.model, saved_status_)) log_(line);
  pass.status_changed = true;
  pass.services.merge(VipChanges(pass.model));
  unpublished_ = true;
}

std::set<model::ObjectRef> IpamDriver::VipChanges(const model::Model& model) {
  std::map<model::ObjectRef, std::vector<net::IpAddress>> vips;
  for (const auto& [ref, service] : model.services()) {
    std::vector<net::IpAddress> granted = ipam_.VipsOf(ref);
    if (!granted.empty()) vips.emplace(ref, std::move(granted));
  }
  std::set<model::ObjectRef> changed;
  auto a = vips.begin();
  auto b = vips_.begin();
  while (a != vips.end() || b != vips_.end()) {
    if (b == vips_.end() || (a != vips.end() && a->first < b->first)) {
      changed.insert((a++)->first);
    } else if (a == vips.end() || b->first < a->first) {
      changed.insert((b++)->first);
    } else {
      if (a->second != b->second) changed.insert(a->first);
      ++a;
      ++b;
    }
  }
  vips_ = std::move(vips);
  return changed;
}

void IpamDriver::AppendStatus(nlohmann::json& document) const {
  document.update(ipam_.StatusDocument());
}

void IpamDriver::Publish(ApiViews& views) {
  if (!unpublished_) return;
  views.pools = std::make_shared<const agent::v1::PoolList>(ListPools(ipam_));
  views.allocations = std::make_shared<const agent::v1::AllocationList>(ListAllocations(ipam_));
  unpublished_ = false;
}

}  // namespace ferry::ferryd
