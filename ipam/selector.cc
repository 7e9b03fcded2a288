#include "ipam/selector.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::ipam {
namespace {

struct OperatorName {
  absl::string_view name;
  SelectorOperator op;
};
constexpr OperatorName kOperators[] = {
    {"In", SelectorOperator::kIn},
    {"NotIn", SelectorOperator::kNotIn},
    {"Exists", SelectorOperator::kExists},
    {"DoesNotExist", SelectorOperator::kDoesNotExist},
};

bool NeedsValues(SelectorOperator op) {
  return op == SelectorOperator::kIn || op == SelectorOperator::kNotIn;
}

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::Parse(const LabelSelectorSpec& spec,
                                                   absl::string_view field) {
  LabelSelector selector;
  std::vector<std::string> problems;
  for (const auto& [key, value] : spec.match_labels) {
    if (key.empty()) problems.push_back(absl::StrCat(field, ".matchLabels: a key is empty"));
    selector.requirements_.push_back({.key = key, .op = SelectorOperator::kIn, .values = {value}});
  }
  for (size_t i = 0; i < spec.match_expressions.size(); ++i) {
    const LabelSelectorRequirementSpec& expression = spec.match_expressions[i];
    const std::string at = absl::StrCat(field, ".matchExpressions[", i, "]");
    if (expression.key.empty()) problems.push_back(absl::StrCat(at, ".key: must not be empty"));
    const auto* known = std::find_if(std::begin(kOperators), std::end(kOperators),
                                     [&](const OperatorName& o) { return o.name == expression.operator_; });
    if (known == std::end(kOperators)) {
      problems.push_back(absl::StrCat(at, ".operator: \"", expression.operator_,
                                      "\" is not one of In, NotIn, Exists, DoesNotExist"));
      continue;
    }
    if (NeedsValues(known->op) && expression.values.empty()) {
      problems.push_back(
          absl::StrCat(at, ".values: ", known->name, " needs at least one value"));
    }
    if (!NeedsValues(known->op) && !expression.values.empty()) {
      problems.push_back(absl::StrCat(at, ".values: ", known->name, " takes no values"));
    }
    selector.requirements_.push_back(
        {.key = expression.key, .op = known->op, .values = expression.values});
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return selector;
}

bool LabelSelector::Matches(const Labels& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const LabelSelectorRequirement& requirement) {
                       const auto found = labels.find(requirement.key);
                       const bool present = found != labels.end();
                       const bool listed =
                           present && std::find(requirement.values.begin(),
                                                requirement.values.end(),
                                                found->second) != requirement.values.end();
                       switch (requirement.op) {
                         case SelectorOperator::kIn:
                           return listed;
                         case SelectorOperator::kNotIn:
                           return !listed;
                         case SelectorOperator::kExists:
                           return present;
                         case SelectorOperator::kDoesNotExist:
                           return !present;
                       }
                       return false;
                     });
}

}  // namespace ferry::ipam
