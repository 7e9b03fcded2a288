// Where the Secrets that objects name (a BGPPeer's password) are read: the
// directory of mounted Secret volumes in manifest mode
// (agent/controllers/bgp/secrets.h), the Secrets the Kubernetes API source
// watches in a cluster (agent/k8s). Their values are never model objects:
// they must not reach the logs or the agent API.
#ifndef FERRY_AGENT_SOURCES_SECRETS_H_
#define FERRY_AGENT_SOURCES_SECRETS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::sources {

class SecretStore {
 public:
  virtual ~SecretStore() = default;
  // The value of `key` in the Secret `name`.
  virtual absl::StatusOr<std::string> ReadSecret(absl::string_view name,
                                                 absl::string_view key) const = 0;
  // Moves whenever a value may have changed; nullopt when changes cannot be
  // seen (files), and readers must ask again from time to time.
  virtual std::optional<uint64_t> SecretsGeneration() const = 0;
};

}  // namespace ferry::sources

#endif  // FERRY_AGENT_SOURCES_SECRETS_H_
