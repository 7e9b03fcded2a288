#include "net/names.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::net {
namespace {

constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxSubdomainLength = 253;
constexpr size_t kMaxPortNameLength = 15;
constexpr absl::string_view kNameRule =
    "1-63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit";

bool IsLowerAlnum(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }

// The name part of a label key, and a non-empty label value.
bool IsQualifiedNamePart(absl::string_view name) {
  return !name.empty() && name.size() <= kMaxLabelLength && absl::ascii_isalnum(name.front()) &&
         absl::ascii_isalnum(name.back()) && std::all_of(name.begin(), name.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
         });
}

}  // namespace

bool IsDns1123Label(absl::string_view name) {
  return !name.empty() && name.size() <= kMaxLabelLength && IsLowerAlnum(name.front()) &&
         IsLowerAlnum(name.back()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsDns1123Subdomain(absl::string_view name) {
  if (name.empty() || name.size() > kMaxSubdomainLength) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (!IsDns1123Label(label)) return false;
  }
  return true;
}

bool IsDns1035Label(absl::string_view name) {
  return IsDns1123Label(name) && absl::ascii_islower(name.front());
}

bool IsPortName(absl::string_view name) {
  return !name.empty() && name.size() <= kMaxPortNameLength && name.front() != '-' &&
         name.back() != '-' && !absl::StrContains(name, "--") &&
         std::any_of(name.begin(), name.end(), absl::ascii_islower) &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

std::optional<std::string> LabelKeyProblem(absl::string_view key) {
  if (key.empty()) return "a label key must not be empty";
  const size_t slash = key.find('/');
  absl::string_view name = key;
  if (slash != absl::string_view::npos) {
    const absl::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!IsDns1123Subdomain(prefix)) {
      return absl::StrCat("label key \"", key,
                          "\": the prefix before '/' must be a DNS-1123 subdomain (at most 253 "
                          "lowercase letters, digits, '-' and '.')");
    }
  }
  if (!IsQualifiedNamePart(name)) {
    return absl::StrCat("label key \"", key, "\": the name must be ", kNameRule);
  }
  return std::nullopt;
}

std::optional<std::string> LabelValueProblem(absl::string_view value) {
  if (value.empty() || IsQualifiedNamePart(value)) return std::nullopt;
  return absl::StrCat("label value \"", value, "\" must be empty or ", kNameRule);
}

}  // namespace ferry::net
