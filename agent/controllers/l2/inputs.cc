#include "agent/controllers/l2/inputs.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::ferryd {
namespace {

using l2announce::Condition;
using l2announce::ConditionStatus;

l2announce::ElectionService ElectionServiceOf(const model::Model& model,
                                              const model::Service& service, VipsOf vips_of) {
  l2announce::ElectionService out;
  out.name = absl::StrCat(service.metadata.namespace_, "/", service.metadata.name);
  out.addresses.labels = service.metadata.labels;
  out.addresses.load_balancer_ips = vips_of(service.Ref());
  out.addresses.external_ips = service.external_ips;
  out.external_traffic_local =
      service.external_traffic_policy == model::TrafficPolicy::kLocal;
  if (out.external_traffic_local) {
    for (const auto& [ref, node] : model.nodes()) {
      if (model::HasReadyEndpoints(model, service, ref.name)) {
        out.nodes_with_ready_endpoints.insert(ref.name);
      }
    }
  }
  return out;
}

std::vector<Condition> ConditionsOf(const l2announce::PolicyMatcher& policy,
                                    const model::Model& model, absl::string_view this_node,
                                    std::span<const std::string> interfaces) {
  const model::Node* self = model.FindNode(this_node);
  const bool selects_self = self != nullptr && policy.SelectsNode(self->metadata.labels);
  const bool selects_any = std::any_of(model.nodes().begin(), model.nodes().end(), [&](auto& n) {
    return policy.SelectsNode(n.second.metadata.labels);
  });
  std::vector<l2announce::NodeInterfaces> view;
  if (selects_self) {
    view.push_back({.node = std::string(this_node),
                    .labels = self->metadata.labels,
                    .interfaces = {interfaces.begin(), interfaces.end()}});
  }
  std::vector<Condition> conditions = l2announce::PolicyConditions(policy.policy(), view);
  if (!selects_self && selects_any) {
    // Another node's interfaces are that node's to judge.
    std::erase_if(conditions, [](const Condition& c) {
      return c.type == l2announce::kConditionInterfacesMatched;
    });
  }
  return conditions;
}

}  // namespace

L2Inputs BuildL2Inputs(const model::Model& model, std::span<const model::ObjectError> errors,
                       absl::string_view this_node, std::span<const std::string> interfaces,
                       VipsOf vips_of) {
  L2Inputs inputs;
  std::map<std::string, std::vector<Condition>> conditions;
  for (const auto& [ref, policy] : model.l2_policies()) {
    absl::StatusOr<l2announce::PolicyMatcher> matcher =
        l2announce::PolicyMatcher::Compile(policy.spec);
    if (!matcher.ok()) {
      // Validation rejects these before they reach the model.
      conditions[ref.name] = l2announce::PolicyConditions(policy.spec, {});
      continue;
    }
    conditions[ref.name] = ConditionsOf(*matcher, model, this_node, interfaces);
    inputs.policies.push_back(*std::move(matcher));
  }
  for (const auto& [ref, reasons] :
       model::ErrorsOfKind(errors, model::kL2AnnouncementPolicyKind)) {
    const std::string& name = ref.name;
    const bool carried = conditions.contains(name);
    Condition accepted{std::string(l2announce::kConditionAccepted), ConditionStatus::kFalse,
                       "Invalid",
                       absl::StrCat(absl::StrJoin(reasons, "; "),
                                    carried ? " (the last valid version stays in effect)"
                                            : " (not in effect)")};
    std::vector<Condition>& list = conditions[name];
    std::erase_if(list, [](const Condition& c) { return c.type == l2announce::kConditionAccepted; });
    list.insert(list.begin(), std::move(accepted));
  }
  for (auto& [name, list] : conditions) {
    inputs.policy_status.push_back({.name = name, .conditions = std::move(list)});
  }
  if (!inputs.policies.empty()) {
    for (const auto& [ref, service] : model.services()) {
      inputs.services.push_back(ElectionServiceOf(model, service, vips_of));
    }
  }
  for (const auto& [ref, node] : model.nodes()) {
    inputs.nodes.push_back({.name = ref.name, .labels = node.metadata.labels});
  }
  return inputs;
}

}  // namespace ferry::ferryd
