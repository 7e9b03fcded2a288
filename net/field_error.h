// A problem with one field of an object, for the validators of every kind
// (the agent's model, ipam/, l2announce/, bgp/) to report the same way.
#ifndef FERRY_NET_FIELD_ERROR_H_
#define FERRY_NET_FIELD_ERROR_H_

#include <ostream>
#include <string>
#include <vector>

namespace ferry::net {

// The field as a JSON path ("spec.nodeSelector.matchExpressions[0].operator").
struct FieldError {
  std::string field;
  std::string reason;

  std::string ToString() const;  // "<field>: <reason>"
  bool operator==(const FieldError&) const = default;
};
inline std::ostream& operator<<(std::ostream& out, const FieldError& error) {
  return out << error.ToString();
}
// "<field>: <reason>; <field>: <reason>"
std::string JoinFieldErrors(const std::vector<FieldError>& errors);

}  // namespace ferry::net

#endif  // FERRY_NET_FIELD_ERROR_H_
