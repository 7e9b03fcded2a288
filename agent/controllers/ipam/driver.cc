#include "agent/controllers/ipam/driver.h"

#include "agent/controllers/ipam/view.h"

namespace ferry::ferryd {

IpamDriver::IpamDriver(ipam::Allocator::Clock clock, LogFn log, VipSource source)
    : clock_(clock), source_(source), ipam_(std::make_unique<IpamController>(clock)), log_(std::move(log)) {}

void IpamDriver::SetLeading(bool leading) {
  if (source_ != VipSource::kStatus || leading == leading_) return;
  leading_ = leading;
  ipam_ = std::make_unique<IpamController>(clock_);
  fresh_ = true;
  unpublished_ = true;
}

void IpamDriver::Run(Pass& pass) {
  if (!pass.first && !(allocating() && fresh_) && !pass.delta.Changed(model::kServiceKind) &&
      !pass.delta.Changed(model::kLoadBalancerIPPoolKind)) {
    return;
  }
  if (allocating()) {
    // The saved status is manifest mode's: in API mode the status is the
    // Services' own, in the model.
    static const SavedStatus kNone;
    const SavedStatus& saved = source_ == VipSource::kAllocation ? saved_status_ : kNone;
    for (const std::string& line : ipam_->Update(pass.model, saved)) log_(line);
    // Events are published by API mode's writer; from manifests, the log
    // line above is all there is.
    if (source_ == VipSource::kAllocation) ipam_->TakeEvents();
    fresh_ = false;
  }
  pass.status_changed = true;
  pass.services.merge(VipChanges(pass.model));
  unpublished_ = true;
}

std::vector<net::IpAddress> IpamDriver::VipsOf(const model::ObjectRef& service) const {
  auto it = vips_.find(service);
  return it == vips_.end() ? std::vector<net::IpAddress>{} : it->second;
}

std::set<model::ObjectRef> IpamDriver::VipChanges(const model::Model& model) {
  std::map<model::ObjectRef, std::vector<net::IpAddress>> vips;
  for (const auto& [ref, service] : model.services()) {
    std::vector<net::IpAddress> granted =
        source_ == VipSource::kStatus ? service.ingress_ips : ipam_->VipsOf(ref);
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
  document.update(ipam_->StatusDocument());
}

void IpamDriver::Publish(ApiViews& views) {
  if (!unpublished_) return;
  views.pools = std::make_shared<const agent::v1::PoolList>(ListPools(*ipam_));
  views.allocations = std::make_shared<const agent::v1::AllocationList>(ListAllocations(*ipam_));
  unpublished_ = false;
}

}  // namespace ferry::ferryd
