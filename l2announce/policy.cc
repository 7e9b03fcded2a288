#include "l2announce/policy.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "re2/re2.h"

namespace ferry::l2announce {
namespace {

std::unique_ptr<re2::RE2> CompileEntry(const std::string& entry) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  return std::make_unique<re2::RE2>(entry, options);
}

std::vector<FieldError> InterfaceErrors(const L2AnnouncementPolicy& policy) {
  std::vector<FieldError> errors;
  for (size_t i = 0; i < policy.interfaces.size(); ++i) {
    const std::string& entry = policy.interfaces[i];
    const std::string field = absl::StrCat("spec.interfaces[", i, "]");
    if (entry.empty()) {
      errors.push_back({field, "empty: give an interface name or a regular expression"});
      continue;
    }
    const std::unique_ptr<re2::RE2> pattern = CompileEntry(entry);
    if (!pattern->ok()) {
      errors.push_back({field, absl::StrCat("\"", entry, "\" is not a regular expression: ",
                                            pattern->error())});
    }
  }
  return errors;
}

constexpr absl::string_view kServiceSelectorField = "spec.serviceSelector";
constexpr absl::string_view kNodeSelectorField = "spec.nodeSelector";

std::vector<FieldError> SelectorErrors(const L2AnnouncementPolicy& policy) {
  std::vector<FieldError> errors =
      net::ValidateSelector(policy.service_selector, kServiceSelectorField);
  std::vector<FieldError> node = net::ValidateSelector(policy.node_selector, kNodeSelectorField);
  errors.insert(errors.end(), node.begin(), node.end());
  return errors;
}

}  // namespace

std::vector<FieldError> Validate(const L2AnnouncementPolicy& policy) {
  std::vector<FieldError> errors = SelectorErrors(policy);
  std::vector<FieldError> interfaces = InterfaceErrors(policy);
  errors.insert(errors.end(), interfaces.begin(), interfaces.end());
  if (!policy.load_balancer_ips && !policy.external_ips) {
    errors.push_back({"spec", "loadBalancerIPs and externalIPs are both false: nothing to announce"});
  }
  return errors;
}

// Compile has validated the policy, so its selectors parse.
PolicyMatcher::PolicyMatcher(L2AnnouncementPolicy policy)
    : policy_(std::move(policy)),
      service_selector_(*LabelSelector::Parse(policy_.service_selector, kServiceSelectorField)),
      node_selector_(*LabelSelector::Parse(policy_.node_selector, kNodeSelectorField)) {
  for (const std::string& entry : policy_.interfaces) patterns_.push_back(CompileEntry(entry));
}
PolicyMatcher::PolicyMatcher(PolicyMatcher&&) noexcept = default;
PolicyMatcher& PolicyMatcher::operator=(PolicyMatcher&&) noexcept = default;
PolicyMatcher::~PolicyMatcher() = default;

absl::StatusOr<PolicyMatcher> PolicyMatcher::Compile(L2AnnouncementPolicy policy) {
  const std::vector<FieldError> errors = Validate(policy);
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kPolicyKind, " ", policy.name, ": ", net::JoinFieldErrors(errors)));
  }
  return PolicyMatcher(std::move(policy));
}

bool PolicyMatcher::SelectsNode(const Labels& node_labels) const {
  return node_selector_.Matches(node_labels);
}

std::vector<net::IpAddress> PolicyMatcher::AnnouncedAddresses(
    const ServiceAddresses& service) const {
  std::vector<net::IpAddress> addresses;
  if (!service_selector_.Matches(service.labels)) return addresses;
  if (policy_.load_balancer_ips) addresses = service.load_balancer_ips;
  if (policy_.external_ips) {
    addresses.insert(addresses.end(), service.external_ips.begin(), service.external_ips.end());
  }
  return addresses;
}

// Equality first: Linux allows interface names with characters that are
// regular expression syntax ("br+lan"), and such a name still selects itself.
bool PolicyMatcher::EntryMatches(size_t entry, absl::string_view interface) const {
  return policy_.interfaces[entry] == interface || re2::RE2::FullMatch(re2::StringPiece(interface.data(), interface.size()),
                                *patterns_[entry]);
}

std::vector<std::string> PolicyMatcher::SelectInterfaces(
    std::span<const std::string> available) const {
  std::vector<std::string> selected;
  for (const std::string& interface : available) {
    bool match = policy_.interfaces.empty();
    for (size_t entry = 0; !match && entry < patterns_.size(); ++entry) {
      match = EntryMatches(entry, interface);
    }
    if (match) selected.push_back(interface);
  }
  return selected;
}

std::vector<size_t> PolicyMatcher::UnmatchedInterfaceEntries(
    std::span<const std::string> available) const {
  std::vector<size_t> unmatched;
  for (size_t entry = 0; entry < patterns_.size(); ++entry) {
    if (std::none_of(available.begin(), available.end(),
                     [&](const std::string& name) { return EntryMatches(entry, name); })) {
      unmatched.push_back(entry);
    }
  }
  return unmatched;
}

absl::string_view StatusName(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      break;
  }
  return "Unknown";
}

std::vector<Condition> PolicyConditions(const L2AnnouncementPolicy& policy,
                                        std::span<const NodeInterfaces> nodes) {
  absl::StatusOr<PolicyMatcher> matcher = PolicyMatcher::Compile(policy);
  if (!matcher.ok()) {
    const char* reason = !SelectorErrors(policy).empty()    ? "InvalidSelector"
                         : !InterfaceErrors(policy).empty() ? "InvalidInterface"
                                                            : "NothingToAnnounce";
    return {{std::string(kConditionAccepted), ConditionStatus::kFalse, reason,
             net::JoinFieldErrors(Validate(policy))}};
  }
  std::vector<Condition> conditions = {
      {std::string(kConditionAccepted), ConditionStatus::kTrue, "Valid", "the policy is valid"}};

  // Entry index -> the selected nodes where it matches nothing.
  std::map<size_t, std::vector<std::string>> unmatched;
  size_t selected = 0;
  for (const NodeInterfaces& node : nodes) {
    if (!matcher->SelectsNode(node.labels)) continue;
    ++selected;
    for (size_t entry : matcher->UnmatchedInterfaceEntries(node.interfaces)) {
      unmatched[entry].push_back(node.node);
    }
  }
  Condition matched{std::string(kConditionInterfacesMatched), ConditionStatus::kTrue, "Matched",
                    "every interfaces entry matches an interface on every selected node"};
  if (selected == 0) {
    matched = {matched.type, ConditionStatus::kFalse, "NoSelectedNode",
               "spec.nodeSelector selects no node"};
  } else if (!unmatched.empty()) {
    std::vector<std::string> parts;
    for (const auto& [entry, node_names] : unmatched) {
      parts.push_back(absl::StrCat("spec.interfaces[", entry, "] \"", policy.interfaces[entry],
                                   "\" matches no interface on ", absl::StrJoin(node_names, ", ")));
    }
    matched = {matched.type, ConditionStatus::kFalse, "NoMatchingInterface",
               absl::StrJoin(parts, "; ")};
  }
  conditions.push_back(std::move(matched));
  return conditions;
}

}  // namespace ferry::l2announce
