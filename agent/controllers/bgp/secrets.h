// Secrets in manifest mode: a directory laid out as a mounted Secret volume
// set, one subdirectory per Secret and one file per key. Changes cannot be
// seen: readers ask again on their retry timer.
#ifndef FERRY_AGENT_CONTROLLERS_BGP_SECRETS_H_
#define FERRY_AGENT_CONTROLLERS_BGP_SECRETS_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/sources/secrets.h"

namespace ferry::bgp_control {

// The content of <secrets_dir>/<name>/<key>, as it is. InvalidArgument when
// `name` is not a Secret name or `key` not a Secret key (so neither can
// leave the directory); Unavailable, with the system's reason and the path,
// when the file cannot be read.
absl::StatusOr<std::string> ReadSecretFile(const std::filesystem::path& secrets_dir,
                                           absl::string_view name, absl::string_view key);

class SecretDirectory : public sources::SecretStore {
 public:
  explicit SecretDirectory(std::filesystem::path directory) : directory_(std::move(directory)) {}
  absl::StatusOr<std::string> ReadSecret(absl::string_view name,
                                         absl::string_view key) const override {
    return ReadSecretFile(directory_, name, key);
  }
  std::optional<uint64_t> SecretsGeneration() const override { return std::nullopt; }

 private:
  const std::filesystem::path directory_;
};

}  // namespace ferry::bgp_control

#endif  // FERRY_AGENT_CONTROLLERS_BGP_SECRETS_H_
