// Kubernetes label selectors (metav1.LabelSelector): matchLabels and
// matchExpressions with In / NotIn / Exists / DoesNotExist, with the
// API server's semantics (NotIn and DoesNotExist match an object that lacks
// the key; an empty selector matches everything).
#ifndef FERRY_IPAM_SELECTOR_H_
#define FERRY_IPAM_SELECTOR_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::ipam {

using Labels = std::map<std::string, std::string>;

// As written in a manifest, before validation.
struct LabelSelectorRequirementSpec {
  std::string key;
  std::string operator_;  // "In", "NotIn", "Exists", "DoesNotExist"
  std::vector<std::string> values;
};

struct LabelSelectorSpec {
  Labels match_labels;
  std::vector<LabelSelectorRequirementSpec> match_expressions;
};

enum class SelectorOperator : uint8_t { kIn, kNotIn, kExists, kDoesNotExist };

struct LabelSelectorRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::kExists;
  std::vector<std::string> values;
  bool operator==(const LabelSelectorRequirement&) const = default;
};

class LabelSelector {
 public:
  // Every problem found, each "FIELD: REASON" with FIELD under `field`
  // ("spec.serviceSelector.matchExpressions[1].operator: ...").
  static absl::StatusOr<LabelSelector> Parse(const LabelSelectorSpec& spec,
                                             absl::string_view field);

  bool Matches(const Labels& labels) const;
  bool empty() const { return requirements_.empty(); }
  bool operator==(const LabelSelector&) const = default;

 private:
  // matchLabels are folded in as In requirements with one value.
  std::vector<LabelSelectorRequirement> requirements_;
};

}  // namespace ferry::ipam

#endif  // FERRY_IPAM_SELECTOR_H_
