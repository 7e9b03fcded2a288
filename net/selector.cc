#include "net/selector.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "net/names.h"

namespace ferry::net {
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

std::optional<SelectorOperator> OperatorNamed(absl::string_view name) {
  const auto* known = std::find_if(std::begin(kOperators), std::end(kOperators),
                                   [&](const OperatorName& o) { return o.name == name; });
  if (known == std::end(kOperators)) return std::nullopt;
  return known->op;
}

bool TakesValues(SelectorOperator op) {
  return op == SelectorOperator::kIn || op == SelectorOperator::kNotIn;
}

}  // namespace

std::vector<FieldError> ValidateLabels(const Labels& labels, absl::string_view field) {
  std::vector<FieldError> errors;
  for (const auto& [key, value] : labels) {
    const std::string at = absl::StrCat(field, "[", key, "]");
    if (std::optional<std::string> problem = LabelKeyProblem(key)) {
      errors.push_back({at, *std::move(problem)});
    }
    if (std::optional<std::string> problem = LabelValueProblem(value)) {
      errors.push_back({at, *std::move(problem)});
    }
  }
  return errors;
}

std::vector<FieldError> ValidateSelector(const LabelSelectorSpec& spec, absl::string_view field) {
  std::vector<FieldError> errors =
      ValidateLabels(spec.match_labels, absl::StrCat(field, ".matchLabels"));
  const auto check = [&](std::optional<std::string> problem, std::string at) {
    if (problem) errors.push_back({std::move(at), *std::move(problem)});
  };
  for (size_t i = 0; i < spec.match_expressions.size(); ++i) {
    const LabelSelectorRequirementSpec& expression = spec.match_expressions[i];
    const std::string at = absl::StrCat(field, ".matchExpressions[", i, "]");
    check(LabelKeyProblem(expression.key), at + ".key");
    const std::optional<SelectorOperator> op = OperatorNamed(expression.operator_);
    if (!op) {
      errors.push_back({at + ".operator", absl::StrCat("\"", expression.operator_,
                                                       "\" is not one of In, NotIn, Exists, "
                                                       "DoesNotExist")});
      continue;
    }
    if (TakesValues(*op) && expression.values.empty()) {
      errors.push_back(
          {at + ".values", absl::StrCat(expression.operator_, " needs at least one value")});
    }
    if (!TakesValues(*op) && !expression.values.empty()) {
      errors.push_back({at + ".values", absl::StrCat(expression.operator_, " takes no values")});
    }
    for (size_t v = 0; v < expression.values.size(); ++v) {
      check(LabelValueProblem(expression.values[v]), absl::StrCat(at, ".values[", v, "]"));
    }
  }
  return errors;
}

absl::StatusOr<LabelSelector> LabelSelector::Parse(const LabelSelectorSpec& spec,
                                                   absl::string_view field) {
  if (std::vector<FieldError> errors = ValidateSelector(spec, field); !errors.empty()) {
    return absl::InvalidArgumentError(JoinFieldErrors(errors));
  }
  LabelSelector selector;
  for (const auto& [key, value] : spec.match_labels) {
    selector.requirements_.push_back({.key = key, .op = SelectorOperator::kIn, .values = {value}});
  }
  for (const LabelSelectorRequirementSpec& expression : spec.match_expressions) {
    selector.requirements_.push_back({.key = expression.key,
                                      .op = *OperatorNamed(expression.operator_),
                                      .values = expression.values});
  }
  return selector;
}

bool LabelSelector::Matches(const Labels& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& r) {
    const auto found = labels.find(r.key);
    const bool present = found != labels.end();
    const bool listed =
        present && std::find(r.values.begin(), r.values.end(), found->second) != r.values.end();
    switch (r.op) {
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

}  // namespace ferry::net
