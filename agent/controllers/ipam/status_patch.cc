#include "agent/controllers/ipam/status_patch.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/controllers/ipam/controller.h"

namespace ferry::ferryd {
namespace {

nlohmann::json ObservedConditionJson(const model::StatusCondition& condition) {
  nlohmann::json json = {{"type", condition.type},
                         {"status", condition.status},
                         {"reason", condition.reason},
                         {"message", condition.message},
                         {"lastTransitionTime", condition.last_transition_time}};
  if (condition.observed_generation != 0) {
    json["observedGeneration"] = condition.observed_generation;
  }
  return json;
}

}  // namespace

std::optional<nlohmann::json> ServiceStatusPatch(const model::Service& observed,
                                                 const ipam::Allocation& allocation) {
  std::vector<net::IpAddress> ips;
  nlohmann::json ingress = nlohmann::json::array();
  for (const ipam::Grant& grant : allocation.grants) {
    ips.push_back(grant.address);
    ingress.push_back({{"ip", grant.address.ToString()}, {"ipMode", "VIP"}});
  }
  const ipam::Condition& wanted = allocation.condition;
  const std::string wanted_status = wanted.status ? "True" : "False";
  const int64_t generation = observed.metadata.generation;
  const auto ours = std::find_if(
      observed.conditions.begin(), observed.conditions.end(),
      [&](const model::StatusCondition& condition) { return condition.type == wanted.type; });
  const bool condition_says_it = ours != observed.conditions.end() &&
                                 ours->status == wanted_status && ours->reason == wanted.reason &&
                                 ours->message == wanted.message &&
                                 ours->observed_generation == generation;
  if (observed.ingress_ips == ips && condition_says_it) return std::nullopt;

  nlohmann::json condition = ConditionJson(wanted);
  condition["observedGeneration"] = generation;
  if (ours != observed.conditions.end() && ours->status == wanted_status &&
      !ours->last_transition_time.empty()) {
    condition["lastTransitionTime"] = ours->last_transition_time;
  }
  nlohmann::json conditions = nlohmann::json::array();
  bool placed = false;
  for (const model::StatusCondition& other : observed.conditions) {
    if (other.type != wanted.type) {
      conditions.push_back(ObservedConditionJson(other));
    } else if (!placed) {
      conditions.push_back(condition);
      placed = true;
    }
  }
  if (!placed) conditions.push_back(condition);
  return nlohmann::json{
      {"metadata", {{"resourceVersion", observed.metadata.resource_version}}},
      {"status",
       {{"loadBalancer", {{"ingress", std::move(ingress)}}}, {"conditions", std::move(conditions)}}}};
}

nlohmann::json PoolStatusPatch(const model::LoadBalancerIPPool& pool,
                               const ipam::PoolStatus& status) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const ipam::Condition& condition : status.conditions) {
    nlohmann::json json = ConditionJson(condition);
    json["observedGeneration"] = pool.metadata.generation;
    conditions.push_back(std::move(json));
  }
  return {{"status",
           {{"conditions", std::move(conditions)},
            {"ipv4", UsageJson(status.ipv4)},
            {"ipv6", UsageJson(status.ipv6)}}}};
}

std::string ServiceStatusPath(const model::ObjectRef& service) {
  return absl::StrCat("/api/v1/namespaces/", service.namespace_, "/services/", service.name,
                      "/status");
}

std::string PoolStatusPath(const std::string& pool) {
  return absl::StrCat("/apis/ferry.dev/v1alpha1/loadbalancerippools/", pool, "/status");
}

}  // namespace ferry::ferryd
