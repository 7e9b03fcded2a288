// Kubernetes label selectors (metav1.LabelSelector): matchLabels and
// matchExpressions, with the API server's validation and matching rules.
#ifndef FERRY_L2ANNOUNCE_SELECTOR_H_
#define FERRY_L2ANNOUNCE_SELECTOR_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace ferry::l2announce {

using Labels = std::map<std::string, std::string>;

// A problem with one field of an object, the field as a JSON path
// ("spec.nodeSelector.matchExpressions[0].operator").
struct FieldError {
  std::string field;
  std::string reason;

  std::string ToString() const;  // "<field>: <reason>"
  bool operator==(const FieldError&) const = default;
};
inline std::ostream& operator<<(std::ostream& out, const FieldError& error) {
  return out << error.ToString();
}

struct SelectorRequirement {
  std::string key;
  std::string op;  // "In", "NotIn", "Exists", "DoesNotExist", as written
  std::vector<std::string> values;
  bool operator==(const SelectorRequirement&) const = default;
};

// Every requirement must hold. An empty selector selects everything (a
// policy that leaves a selector out applies to every object).
struct LabelSelector {
  Labels match_labels;
  std::vector<SelectorRequirement> match_expressions;
  bool operator==(const LabelSelector&) const = default;
};

// Every problem with the selector written at `field`: label keys and values
// that Kubernetes would refuse, unknown operators, values given to Exists
// or DoesNotExist, none given to In or NotIn.
std::vector<FieldError> ValidateSelector(const LabelSelector& selector, absl::string_view field);

// Whether labels satisfy the selector. Meaningful for a valid selector; an
// unknown operator matches nothing.
bool Matches(const LabelSelector& selector, const Labels& labels);

}  // namespace ferry::l2announce

#endif  // FERRY_L2ANNOUNCE_SELECTOR_H_
