#include "net/field_error.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::net {

std::string FieldError::ToString() const { return absl::StrCat(field, ": ", reason); }

std::string JoinFieldErrors(const std::vector<FieldError>& errors) {
  return absl::StrJoin(errors, "; ", [](std::string* out, const FieldError& error) {
    absl::StrAppend(out, error.ToString());
  });
}

}  // namespace ferry::net
