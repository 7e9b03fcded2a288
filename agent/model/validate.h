// What is wrong with an object, said so a person can fix it: which object,
// which field (a JSON path such as "spec.ports[1].port") and why. Field
// syntax (a port out of range, an address that does not parse, an unknown
// protocol) is checked while a manifest is decoded (decode.h); the rules
// that need more than one field (duplicates, families, names) are here.
#ifndef FERRY_AGENT_MODEL_VALIDATE_H_
#define FERRY_AGENT_MODEL_VALIDATE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "agent/model/model.h"

namespace ferry::model {

enum class Severity : uint8_t {
  // The object is valid Kubernetes but not for Ferry (another kind, a
  // ClusterIP Service, another loadBalancerClass): ignored, said once.
  kInfo,
  // The object is invalid and left out of the model.
  kError,
};

struct ValidationError {
  ObjectRef object;
  std::string field;
  std::string reason;
  Severity severity = Severity::kError;

  // "Service default/web: spec.ports[1].port: 70000 is not a port (1-65535)"
  std::string ToString() const;
  bool operator==(const ValidationError&) const = default;
};
inline std::ostream& operator<<(std::ostream& out, const ValidationError& error) {
  return out << error.ToString();
}

// Each returns every problem found, empty for a valid object.
std::vector<ValidationError> Validate(const Service& service);
std::vector<ValidationError> Validate(const EndpointSlice& slice);
std::vector<ValidationError> Validate(const Node& node);
std::vector<ValidationError> Validate(const LoadBalancerIPPool& pool);
std::vector<ValidationError> Validate(const L2AnnouncementPolicy& policy);
std::vector<ValidationError> Validate(const BgpPeer& peer);
std::vector<ValidationError> Validate(const BgpAdvertisement& advertisement);
std::vector<ValidationError> Validate(const Object& object);

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_VALIDATE_H_
