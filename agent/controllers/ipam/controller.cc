#include "agent/controllers/ipam/controller.h"

#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/model/ipam_input.h"

namespace ferry::ferryd {
namespace {


std::string ConditionLine(const ipam::Condition& condition) {
  return absl::StrCat(condition.type, "=", condition.status ? "True" : "False", " (",
                      condition.reason, "): ", condition.message);
}

// Pool conditions worth a log line: the ones that say something is wrong.
bool Troubled(const ipam::Condition& condition) {
  return condition.type == ipam::kReadyCondition ? !condition.status : condition.status;
}

}  // namespace

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_sec, time, absl::UTCTimeZone());
}

nlohmann::json ConditionJson(const ipam::Condition& condition) {
  return {{"type", condition.type},
          {"status", condition.status ? "True" : "False"},
          {"reason", condition.reason},
          {"message", condition.message},
          {"lastTransitionTime", Rfc3339(condition.last_transition_time)}};
}

nlohmann::json UsageJson(const ipam::FamilyUsage& usage) {
  // Strings: a /48 holds 2^80 addresses, more than a JSON number carries.
  return {{"total", Decimal(usage.total)},
          {"used", Decimal(usage.used)},
          {"free", Decimal(usage.free)}};
}

std::string Decimal(absl::uint128 value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

absl::StatusOr<SavedStatus> ParseSavedStatus(absl::string_view json) {
  const nlohmann::json document = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return absl::DataLossError("status.json is not a JSON object");
  }
  SavedStatus saved;
  for (const nlohmann::json& service : document.value("services", nlohmann::json::array())) {
    const nlohmann::json& metadata = service.value("metadata", nlohmann::json::object());
    const ipam::ServiceRef ref{.namespace_ = metadata.value("namespace", ""),
                               .name = metadata.value("name", "")};
    std::vector<net::IpAddress>& ips = saved[ref];
    const nlohmann::json ingress = service.value("status", nlohmann::json::object())
                                       .value("loadBalancer", nlohmann::json::object())
                                       .value("ingress", nlohmann::json::array());
    for (const nlohmann::json& entry : ingress) {
      absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(entry.value("ip", ""));
      if (!ip.ok()) {
        return absl::DataLossError(absl::StrCat("status.json: Service ", ref.ToString(), ": ",
                                                ip.status().message()));
      }
      ips.push_back(*ip);
    }
  }
  return saved;
}

IpamController::IpamController(ipam::Allocator::Clock clock) : allocator_(std::move(clock)) {}

std::vector<std::string> IpamController::Update(const model::Model& model,
                                                const SavedStatus& saved) {
  std::map<std::string, ipam::Pool> pools;
  for (const auto& [ref, pool] : model.pools()) {
    // The model holds only pools that passed the same validation.
    if (absl::StatusOr<ipam::Pool> parsed = ipam::ParsePool(pool.spec); parsed.ok()) {
      pools.emplace(parsed->name, *std::move(parsed));
    }
  }
  std::map<ipam::ServiceRef, ipam::Service> services;
  for (const auto& [ref, service] : model.services()) {
    ipam::Service input = model::IpamServiceOf(service);
    if (auto kept = saved.find(input.ref);
        !fed_ && input.status_ips.empty() && kept != saved.end()) {
      input.status_ips = kept->second;
    }
    services.emplace(input.ref, std::move(input));
  }

  ipam::Batch batch;
  for (const auto& [name, pool] : pools) {
    auto fed = pools_.find(name);
    if (fed == pools_.end() || !(fed->second == pool)) batch.upsert_pools.push_back(pool);
  }
  for (const auto& [name, pool] : pools_) {
    if (!pools.contains(name)) batch.delete_pools.push_back(name);
  }
  for (const auto& [ref, service] : services) {
    auto fed = services_.find(ref);
    if (fed == services_.end() || !(fed->second == service)) {
      batch.upsert_services.push_back(service);
    }
  }
  for (const auto& [ref, service] : services_) {
    if (!services.contains(ref)) {
      batch.delete_services.push_back(ref);
      events_.erase(ref);
    }
  }
  pools_ = std::move(pools);
  services_ = std::move(services);
  fed_ = true;

  const ipam::Changes changes = allocator_.Apply(std::move(batch));
  std::vector<std::string> lines;
  for (const ipam::ServiceChange& change : changes.services) {
    lines.push_back(absl::StrCat("Service ", change.service.ToString(), ": ",
                                 ConditionLine(change.allocation.condition)));
    for (const ipam::Event& event : change.events) {
      lines.push_back(absl::StrCat("Service ", change.service.ToString(), ": event ", event.type,
                                   " ", event.reason, ": ", event.message));
      unpublished_events_.emplace_back(change.service, event);
    }
    if (!change.events.empty()) events_[change.service] = change.events;
  }
  for (const ipam::PoolChange& change : changes.pools) {
    for (const ipam::Condition& condition : change.status.conditions) {
      if (Troubled(condition)) {
        lines.push_back(absl::StrCat("LoadBalancerIPPool ", change.pool, ": ",
                                     ConditionLine(condition)));
      }
    }
  }
  return lines;
}

std::vector<net::IpAddress> IpamController::VipsOf(const model::ObjectRef& service) const {
  std::vector<net::IpAddress> vips;
  const ipam::Allocation* allocation =
      allocator_.AllocationOf({.namespace_ = service.namespace_, .name = service.name});
  if (allocation == nullptr) return vips;
  for (const ipam::Grant& grant : allocation->grants) vips.push_back(grant.address);
  return vips;
}

nlohmann::json IpamController::StatusDocument() const {
  nlohmann::json services = nlohmann::json::array();
  for (const auto& [ref, allocation] : allocator_.Allocations()) {
    nlohmann::json ingress = nlohmann::json::array();
    nlohmann::json grants = nlohmann::json::array();
    for (const ipam::Grant& grant : allocation.grants) {
      ingress.push_back({{"ip", grant.address.ToString()}, {"ipMode", "VIP"}});
      grants.push_back({{"ip", grant.address.ToString()},
                        {"pool", grant.pool},
                        {"since", Rfc3339(grant.since)}});
    }
    nlohmann::json events = nlohmann::json::array();
    if (auto found = events_.find(ref); found != events_.end()) {
      for (const ipam::Event& event : found->second) {
        events.push_back(
            {{"type", event.type}, {"reason", event.reason}, {"message", event.message}});
      }
    }
    services.push_back(
        {{"apiVersion", "v1"},
         {"kind", "Service"},
         {"metadata", {{"namespace", ref.namespace_}, {"name", ref.name}}},
         {"status",
          {{"loadBalancer", {{"ingress", std::move(ingress)}}},
           {"conditions", nlohmann::json::array({ConditionJson(allocation.condition)})}}},
         {"grants", std::move(grants)},
         {"events", std::move(events)}});
  }
  nlohmann::json pools = nlohmann::json::array();
  for (const std::string& name : allocator_.PoolNames()) {
    const std::optional<ipam::PoolStatus> status = allocator_.StatusOf(name);
    if (!status) continue;
    nlohmann::json conditions = nlohmann::json::array();
    for (const ipam::Condition& condition : status->conditions) {
      conditions.push_back(ConditionJson(condition));
    }
    pools.push_back({{"apiVersion", "ferry.dev/v1alpha1"},
                     {"kind", "LoadBalancerIPPool"},
                     {"metadata", {{"name", name}}},
                     {"status",
                      {{"conditions", std::move(conditions)},
                       {"ipv4", UsageJson(status->ipv4)},
                       {"ipv6", UsageJson(status->ipv6)}}}});
  }
  return {{"services", std::move(services)}, {"pools", std::move(pools)}};
}

}  // namespace ferry::ferryd
