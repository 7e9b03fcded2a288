// The syntax Kubernetes requires of names and labels
// (k8s.io/apimachinery/pkg/util/validation), for the model's validation and
// for label selectors.
#ifndef FERRY_NET_NAMES_H_
#define FERRY_NET_NAMES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ferry::net {

// At most 63 lowercase letters, digits and '-', alphanumeric at both ends.
bool IsDns1123Label(absl::string_view name);
// At most 253 characters: DNS-1123 labels joined by '.'.
bool IsDns1123Subdomain(absl::string_view name);
// A DNS-1123 label that starts with a letter.
bool IsDns1035Label(absl::string_view name);
// IANA_SVC_NAME (RFC 6335 §5.1), the rule for a named container port: at
// most 15 lowercase letters, digits and '-', with a letter, no '-' at either
// end or next to another.
bool IsPortName(absl::string_view name);

// Why `key` is not a label key, nullopt when it is one. A key is a name of
// 1-63 letters, digits, '-', '_' and '.', alphanumeric at both ends,
// optionally after a DNS-1123 subdomain prefix and '/' ("app",
// "kubernetes.io/hostname").
std::optional<std::string> LabelKeyProblem(absl::string_view key);
// Why `value` is not a label value, nullopt when it is one: empty, or a name
// as in a key.
std::optional<std::string> LabelValueProblem(absl::string_view value);

}  // namespace ferry::net

#endif  // FERRY_NET_NAMES_H_
