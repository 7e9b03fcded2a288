#include "agent/lb/services.h"

#include "absl/strings/str_cat.h"

namespace ferry::lb {

std::string BackendIdentity(absl::string_view endpoint, absl::string_view node) {
  return absl::StrCat(endpoint, "@", node);
}

std::string BackendIdentity(const Backend& backend) {
  return BackendIdentity(datapath::FormatEndpoint(backend.address, backend.port), backend.node);
}

}  // namespace ferry::lb
