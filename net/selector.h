// Kubernetes label selectors (metav1.LabelSelector): matchLabels and
// matchExpressions with In, NotIn, Exists and DoesNotExist, validated and
// matched as the API server does. A value type shared by the agent and the
// libraries outside it (ipam/, l2announce/); depends on absl only.
#ifndef FERRY_NET_SELECTOR_H_
#define FERRY_NET_SELECTOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/field_error.h"

namespace ferry::net {

using Labels = std::map<std::string, std::string>;

// Every label key and value of `labels` the API server would refuse, the
// field `<field>[<key>]` ("metadata.labels[app]").
std::vector<FieldError> ValidateLabels(const Labels& labels, absl::string_view field);

// As written in a manifest, unchecked.
struct LabelSelectorRequirementSpec {
  std::string key;
  std::string operator_;  // "In", "NotIn", "Exists", "DoesNotExist"
  std::vector<std::string> values;
  bool operator==(const LabelSelectorRequirementSpec&) const = default;
};

// Absent and empty are the same: every requirement holds for every object.
struct LabelSelectorSpec {
  Labels match_labels;
  std::vector<LabelSelectorRequirementSpec> match_expressions;
  bool operator==(const LabelSelectorSpec&) const = default;
};

// Every problem with the selector written at `field`, in the order written:
// label keys and values the API server would refuse, unknown operators,
// values given to Exists or DoesNotExist, none given to In or NotIn.
std::vector<FieldError> ValidateSelector(const LabelSelectorSpec& spec, absl::string_view field);

enum class SelectorOperator : uint8_t { kIn, kNotIn, kExists, kDoesNotExist };

// A valid selector.
class LabelSelector {
 public:
  // The selector everything matches.
  LabelSelector() = default;
  // InvalidArgument with every ValidateSelector error, "FIELD: REASON; ...".
  static absl::StatusOr<LabelSelector> Parse(const LabelSelectorSpec& spec,
                                             absl::string_view field);

  // Every requirement holds. NotIn and DoesNotExist hold for labels that
  // lack the key; In and Exists do not.
  bool Matches(const Labels& labels) const;
  bool empty() const { return requirements_.empty(); }
  bool operator==(const LabelSelector&) const = default;

 private:
  struct Requirement {
    std::string key;
    SelectorOperator op = SelectorOperator::kExists;
    std::vector<std::string> values;
    bool operator==(const Requirement&) const = default;
  };
  // matchLabels are folded in as In requirements with one value.
  std::vector<Requirement> requirements_;
};

}  // namespace ferry::net

#endif  // FERRY_NET_SELECTOR_H_
