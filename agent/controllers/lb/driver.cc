#include "agent/controllers/lb/driver.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "agent/controllers/lb/view.h"
#include "agent/datapath/addr.h"
#include "agent/datapath/netlink.h"
#include "agent/lb/recover.h"

namespace ferry::ferryd {
namespace {

using datapath::SameBytes;

absl::StatusOr<ferry_node> Resolve(const net::IpAddress& address) {
  return datapath::ResolveNode(address);
}

bool SameNodes(const std::vector<lb::NodeInfo>& a, const std::vector<lb::NodeInfo>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const lb::NodeInfo& x, const lb::NodeInfo& y) {
                      return x.name == y.name && x.v4 == y.v4 && x.v6 == y.v6 &&
                             SameBytes(x.route, y.route);
                    });
}

}  // namespace

LbDriver::LbDriver(Settings settings, datapath::LbMaps& maps, const IpamDriver& ipam,
                   AttachPodVeth attach_pod_veth)
    : settings_(std::move(settings)),
      maps_(maps),
      ipam_(ipam),
      attach_pod_veth_(std::move(attach_pod_veth)),
      store_(maps_, settings_.map_sizes.services),
      reconciler_(store_) {}

void LbDriver::Run(Pass& pass) {
  const std::set<model::ObjectRef>& services = pass.services;
  // Next hops can only have moved when the Nodes changed or the kernel's
  // routes and neighbours did (which wakes a retry): a Service edit does not
  // ask the kernel about every node again.
  const bool nodes_due = pass.first || pass.retry || pass.delta.Changed(model::kNodeKind);
  const bool nodes_changed = nodes_due && ResolveNodes(pass.model);
  pass.settled = pass.settled && !nodes_unresolved_;

  config_writes_ = nodes_due ? ApplyConfig(pass.model) : 0;
  // Re-planning most Services costs as much as planning them all.
  const bool whole = pass.first || nodes_changed || !written_ ||
                     services.size() > pass.model.services().size() / 2;
  report_ = {};
  if (whole || !services.empty()) {
    pass.settled = Update(pass.model, whole, services) && pass.settled;
    UpdateViews(pass.model, whole, services);
  }
  endpoint_writes_ = 0;
  if (pass.first || pass.retry || whole || !services.empty()) {
    EndpointPlan plan = PlanEndpoints(lb_.input(), settings_.uplink_ifindex, Resolve);
    endpoint_problems_ = std::move(plan.problems);
    endpoint_writes_ = ApplyEndpoints(plan);
    local_endpoints_ = plan.endpoints.size();
    pass.settled = pass.settled && endpoint_problems_.empty();
  }
}

bool LbDriver::ResolveNodes(const model::Model& model) {
  std::vector<std::string> problems;
  nodes_unresolved_ = false;
  std::vector<lb::NodeInfo> nodes =
      NodeInfosOf(model, settings_.node, Resolve, problems, nodes_unresolved_);
  const bool changed = !SameNodes(nodes, nodes_);
  nodes_ = std::move(nodes);
  node_problems_ = std::move(problems);
  return changed;
}

bool LbDriver::Update(const model::Model& model, bool whole,
                      const std::set<model::ObjectRef>& services) {
  // Re-plans one Service; its problems replace the ones it had.
  auto plan = [&](const model::ObjectRef& ref) {
    std::vector<std::string>& problems = service_problems_[ref];
    problems.clear();
    std::vector<lb::LbService> planned;
    if (const auto service = model.services().find(ref); service != model.services().end()) {
      const auto vips = ipam_.vips().find(ref);
      planned = LbServicesOf(model, service->second,
                             vips == ipam_.vips().end() ? std::vector<net::IpAddress>{}
                                                        : vips->second,
                             settings_.node, problems);
    }
    if (problems.empty()) service_problems_.erase(ref);
    return planned;
  };
  lb_problems_.clear();
  absl::StatusOr<lb::ReconcileReport> written;
  if (whole) {
    lb::LbInput input{.this_node = settings_.node,
                      .nodes = nodes_,
                      .services = {},
                      .maglev_size = settings_.maglev_size};
    service_problems_.clear();
    for (const auto& [ref, service] : model.services()) {
      for (lb::LbService& planned : plan(ref)) input.services.push_back(std::move(planned));
    }
    if (!ids_) {
      absl::StatusOr<lb::ActualState> actual = lb::ReadActual(store_);
      if (!actual.ok()) {
        lb_problems_.push_back(absl::StrCat("reading the maps: ", actual.status().message()));
        return false;
      }
      ids_.emplace(lb::RecoverIds(input, *actual, lb::CapacityOf(settings_.map_sizes)));
    }
    if (absl::Status reset = lb_.Reset(std::move(input), *ids_); !reset.ok()) {
      lb_problems_.push_back(absl::StrCat("desired state: ", reset.message()));
      written_ = false;
      return true;  // a Maglev size that is not a prime stays one
    }
    written = reconciler_.Reconcile(lb_.desired());
  } else {
    std::vector<lb::IncrementalDesired::Group> groups;
    for (const model::ObjectRef& ref : services) groups.emplace_back(LbServicePrefix(ref), plan(ref));
    lb::DesiredChange change;
    lb_.Replace(std::move(groups), *ids_, change);
    written = reconciler_.ReconcileChange(lb_.desired(), change);
  }
  lb_problems_ = lb_.desired().problems;
  written_ = written.ok();
  if (!written.ok()) {
    lb_problems_.push_back(absl::StrCat("writing the maps: ", written.status().message(),
                                        " (retried)"));
    return false;
  }
  report_ = *written;
  return true;
}

int LbDriver::ApplyConfig(const model::Model& model) {
  config_problems_.clear();
  absl::StatusOr<ferry_config> config = ConfigOf(
      model, settings_.node, settings_.flow_hash_seed, settings_.tunnel_mtu.value_or(0));
  if (!config.ok()) {
    config_problems_.push_back(absl::StrCat("config: ", config.status().message(),
                                            "; no tunnel to this node is decapsulated"));
    return 0;
  }
  absl::StatusOr<ferry_config> current = maps_.GetConfig();
  if (current.ok() && SameBytes(*current, *config)) return 0;
  if (absl::Status set = maps_.SetConfig(*config); !set.ok()) {
    config_problems_.push_back(absl::StrCat("writing the config: ", set.message()));
    return 0;
  }
  return 1;
}

int LbDriver::ApplyEndpoints(const EndpointPlan& plan) {
  auto problem = [&](absl::string_view what, const ferry_addr_key& pod,
                     const absl::Status& status) {
    endpoint_problems_.push_back(absl::StrCat(
        what, " endpoint ", datapath::FormatAddress(pod.addr, pod.family), ": ", status.message()));
  };
  absl::StatusOr<datapath::Entries<ferry_addr_key, ferry_endpoint>> current =
      maps_.ListEndpoints();
  if (!current.ok()) {
    endpoint_problems_.push_back(
        absl::StrCat("reading endpoints: ", current.status().message()));
    return 0;
  }
  // By key bytes, so that a pass costs O(n) in local endpoints.
  auto bytes = [](const ferry_addr_key& key) {
    return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
  };
  absl::flat_hash_map<std::string, const ferry_endpoint*> held;
  for (const auto& [pod, endpoint] : *current) held[bytes(pod)] = &endpoint;
  absl::flat_hash_set<std::string> kept;
  for (const net::IpAddress& pod : plan.unresolved) kept.insert(bytes(datapath::ToMapKey(pod)));
  int writes = 0;
  for (const LocalEndpoint& local : plan.endpoints) {
    const ferry_addr_key key = datapath::ToMapKey(local.pod);
    kept.insert(bytes(key));
    // The program must be on the veth before the endpoint sends traffic
    // there, or the pod's replies would leave un-rev-NATed.
    if (!pod_veths_attached_.contains(local.endpoint.ifindex)) {
      if (absl::Status attached = attach_pod_veth_(static_cast<int>(local.endpoint.ifindex));
          !attached.ok()) {
        problem("attaching ferry_tc_pod for", key, attached);
        continue;
      }
      pod_veths_attached_.insert(local.endpoint.ifindex);
    }
    if (auto existing = held.find(bytes(key));
        existing != held.end() && SameBytes(*existing->second, local.endpoint)) {
      continue;
    }
    if (absl::Status written = maps_.UpsertEndpoint(key, local.endpoint); !written.ok()) {
      problem("writing", key, written);
      continue;
    }
    ++writes;
  }
  for (const auto& [pod, endpoint] : *current) {
    if (kept.contains(bytes(pod))) continue;
    if (absl::Status deleted = maps_.DeleteEndpoint(pod); !deleted.ok()) {
      problem("deleting", pod, deleted);
      continue;
    }
    ++writes;
  }
  return writes;
}

void LbDriver::UpdateViews(const model::Model& model, bool whole,
                           const std::set<model::ObjectRef>& services) {
  auto view = [&](const model::ObjectRef& ref) {
    const auto service = model.services().find(ref);
    if (service == model.services().end() || !ids_) {
      views_.erase(ref);
      return;
    }
    views_.insert_or_assign(
        ref, std::make_shared<const std::vector<agent::v1::LbService>>(ServiceEntries(
                 ref, service->second, ipam_.VipsOf(ref), ipam_.ipam(),
                 [this](absl::string_view name) { return lb_.Find(name); },
                 settings_.maglev_size, *ids_,
                 [this](uint32_t id) { return reconciler_.SlotCounts(id); })));
  };
  if (whole) {
    views_.clear();
    for (const auto& [ref, service] : model.services()) view(ref);
  } else {
    for (const model::ObjectRef& ref : services) view(ref);
  }
  unpublished_ = true;
}

void LbDriver::Publish(ApiViews& views) {
  if (!unpublished_) return;
  views.services = std::make_shared<const ApiViews::ServiceViews>(views_);
  unpublished_ = false;
}

void LbDriver::AppendProblems(std::vector<std::string>& problems) const {
  problems.insert(problems.end(), node_problems_.begin(), node_problems_.end());
  for (const auto& [ref, service] : service_problems_) {
    problems.insert(problems.end(), service.begin(), service.end());
  }
  for (const auto* part : {&config_problems_, &lb_problems_, &endpoint_problems_}) {
    problems.insert(problems.end(), part->begin(), part->end());
  }
}

std::string LbDriver::WritesDetail() const {
  std::string detail = report_.writes() > 0 ? lb::ToString(report_) : "";
  if (config_writes_ > 0) absl::StrAppend(&detail, detail.empty() ? "" : " ", "config=1");
  if (endpoint_writes_ > 0) {
    absl::StrAppend(&detail, detail.empty() ? "" : " ", "endpoint_writes=", endpoint_writes_);
  }
  return detail;
}

}  // namespace ferry::ferryd
