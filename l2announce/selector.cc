#include "l2announce/selector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace ferry::l2announce {
namespace {

// Kubernetes' qualified name (the part after an optional "prefix/") and
// label value: at most 63 characters, alphanumeric at both ends, with
// '-', '_' and '.' inside; a value may also be empty.
constexpr size_t kMaxNameLength = 63;
constexpr size_t kMaxPrefixLength = 253;

bool IsName(absl::string_view text) {
  static const RE2 kName("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  return text.size() <= kMaxNameLength && RE2::FullMatch(re2::StringPiece(text.data(), text.size()), kName);
}

// A DNS subdomain (RFC 1123), as label key prefixes must be.
bool IsDnsSubdomain(absl::string_view text) {
  static const RE2 kSubdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return text.size() <= kMaxPrefixLength && RE2::FullMatch(re2::StringPiece(text.data(), text.size()), kSubdomain);
}

// Why key is not a label key, or empty.
std::string KeyProblem(absl::string_view key) {
  const size_t slash = key.find('/');
  if (slash != absl::string_view::npos && !IsDnsSubdomain(key.substr(0, slash))) {
    return absl::StrCat("label key \"", key, "\": the prefix must be a DNS subdomain");
  }
  const absl::string_view name = slash == absl::string_view::npos ? key : key.substr(slash + 1);
  if (!IsName(name)) {
    return absl::StrCat("label key \"", key,
                        "\": the name must be 1-63 characters, alphanumeric at both ends, with "
                        "'-', '_' or '.' inside");
  }
  return "";
}

std::string ValueProblem(absl::string_view value) {
  if (value.empty() || IsName(value)) return "";
  return absl::StrCat("label value \"", value,
                      "\" must be empty or 1-63 characters, alphanumeric at both ends, with '-', "
                      "'_' or '.' inside");
}

bool Holds(const SelectorRequirement& requirement, const Labels& labels) {
  const auto label = labels.find(requirement.key);
  const bool present = label != labels.end();
  const auto listed = [&] {
    return present && std::find(requirement.values.begin(), requirement.values.end(),
                                label->second) != requirement.values.end();
  };
  if (requirement.op == "In") return listed();
  if (requirement.op == "NotIn") return !listed();
  if (requirement.op == "Exists") return present;
  if (requirement.op == "DoesNotExist") return !present;
  return false;
}

}  // namespace

std::string FieldError::ToString() const { return absl::StrCat(field, ": ", reason); }

std::vector<FieldError> ValidateSelector(const LabelSelector& selector, absl::string_view field) {
  std::vector<FieldError> errors;
  const auto check = [&](std::string problem, std::string at) {
    if (!problem.empty()) errors.push_back({std::move(at), std::move(problem)});
  };
  for (const auto& [key, value] : selector.match_labels) {
    const std::string at = absl::StrCat(field, ".matchLabels[\"", key, "\"]");
    check(KeyProblem(key), at);
    check(ValueProblem(value), at);
  }
  for (size_t i = 0; i < selector.match_expressions.size(); ++i) {
    const SelectorRequirement& requirement = selector.match_expressions[i];
    const std::string at = absl::StrCat(field, ".matchExpressions[", i, "]");
    check(KeyProblem(requirement.key), absl::StrCat(at, ".key"));
    const bool takes_values = requirement.op == "In" || requirement.op == "NotIn";
    if (!takes_values && requirement.op != "Exists" && requirement.op != "DoesNotExist") {
      errors.push_back({absl::StrCat(at, ".operator"),
                        absl::StrCat("\"", requirement.op,
                                     "\" is not one of In, NotIn, Exists, DoesNotExist")});
      continue;
    }
    if (takes_values && requirement.values.empty()) {
      errors.push_back({absl::StrCat(at, ".values"),
                        absl::StrCat("operator ", requirement.op, " needs at least one value")});
    }
    if (!takes_values && !requirement.values.empty()) {
      errors.push_back({absl::StrCat(at, ".values"),
                        absl::StrCat("operator ", requirement.op, " takes no values")});
    }
    for (size_t v = 0; v < requirement.values.size(); ++v) {
      check(ValueProblem(requirement.values[v]), absl::StrCat(at, ".values[", v, "]"));
    }
  }
  return errors;
}

bool Matches(const LabelSelector& selector, const Labels& labels) {
  for (const auto& [key, value] : selector.match_labels) {
    const auto label = labels.find(key);
    if (label == labels.end() || label->second != value) return false;
  }
  return std::all_of(selector.match_expressions.begin(), selector.match_expressions.end(),
                     [&](const SelectorRequirement& r) { return Holds(r, labels); });
}

}  // namespace ferry::l2announce
