#include "agent/controllers/bgp/secrets.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/model/bgp.h"
#include "agent/model/manifest_dir.h"
#include "net/names.h"

namespace ferry::bgp_control {

absl::StatusOr<std::string> ReadSecretFile(const std::filesystem::path& secrets_dir,
                                           absl::string_view name, absl::string_view key) {
  if (!net::IsDns1123Subdomain(name)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a Secret name"));
  }
  if (std::optional<std::string> problem = model::SecretKeyProblem(key)) {
    return absl::InvalidArgumentError(*std::move(problem));
  }
  const std::filesystem::path path = secrets_dir / std::string(name) / std::string(key);
  absl::StatusOr<std::string> content = model::ReadFile(path);
  if (!content.ok()) {
    return absl::Status(content.status().code(),
                        absl::StrCat(path.string(), ": ", content.status().message()));
  }
  return content;
}

}  // namespace ferry::bgp_control
