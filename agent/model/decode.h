// Manifest text (YAML, possibly several documents, possibly `kind: List`)
// to typed, validated objects. Pure: no files, no clock.
#ifndef FERRY_AGENT_MODEL_DECODE_H_
#define FERRY_AGENT_MODEL_DECODE_H_

#include <optional>
#include <vector>

#include <yaml-cpp/node/node.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/model/model.h"
#include "agent/model/validate.h"

namespace ferry::model {

// A kind Ferry reads, as the API serves it: the one apiVersion it is read
// in, its resource (plural) name and whether it is namespaced.
struct KindInfo {
  absl::string_view api_version;
  absl::string_view kind;
  absl::string_view resource;
  bool namespaced;
};
// Every kind Ferry reads, in the decoders' table order.
std::vector<KindInfo> Kinds();

struct DecodedObject {
  Object object;
  int line = 0;  // 1-based line where the object starts
  bool operator==(const DecodedObject&) const = default;
};

struct DecodeProblem {
  ValidationError error;
  int line = 0;  // 1-based line where the object starts
  bool operator==(const DecodeProblem&) const = default;
};

struct DecodedManifest {
  // Valid objects of the kinds Ferry reads, in the order written.
  std::vector<DecodedObject> objects;
  // Why each other document or item was left out: errors for invalid
  // objects, info entries for objects that are not Ferry's.
  std::vector<DecodeProblem> problems;
};

// InvalidArgument "line L, column C: <reason>" when the text is not YAML or
// has a YAML anchor or alias (refused, see below); nothing of the text is
// used then. Otherwise every document is decoded on
// its own, so one bad object costs only itself. Empty documents are skipped.
//
// Decisions (Kubernetes' own behaviour unless said otherwise):
//  - A namespaced object without metadata.namespace is in "default".
//  - Kinds Ferry reads in another apiVersion (discovery.k8s.io/v1beta1
//    EndpointSlice) are errors: the author meant them for Ferry. Other kinds
//    are info entries ("not ours"), as are Services that are not
//    LoadBalancers or have another loadBalancerClass, and FQDN slices.
//  - Numbers must be YAML numbers: `port: "80"` is an error, as it is for
//    the API server; a quoted targetPort is a port name.
//  - A key that appears twice in one map makes its object invalid (yaml-cpp
//    would silently use the first, the author probably meant the last), as
//    does a key that is a list, a map or null (JSON keys are strings).
//  - Anchors (&a) and aliases (*a) are refused, unlike kubectl: objects
//    never need them, and aliases of aliases ("billion laughs") would make
//    a small file cost exponential time. The scan that finds them expands
//    nothing, so any text costs time linear in its size.
//  - Fields Ferry does not use are not checked (nodePort, targetRef, ...).
//  - metadata.creationTimestamp must be an RFC 3339 time, as the API
//    server writes it.
//  - Ferry's kinds (LoadBalancerIPPool, L2AnnouncementPolicy, BGPPeer,
//    BGPAdvertisement) take the defaults their CRDs in deploy/crds give, and
//    are checked by the code that owns their specs (ipam::ValidatePool,
//    l2announce::Validate, bgp.h).
//  - Durations are Go's (metav1.Duration): "90s", "1m30s"; a bare number
//    has no unit and is an error, as it is for the API server.
absl::StatusOr<DecodedManifest> DecodeManifest(absl::string_view text);

struct DecodedApiObject {
  // nullopt when the object is invalid or not Ferry's.
  std::optional<Object> object;
  // Named by object and field; they carry no line, which would be the
  // line of a serialization nobody wrote (the API server's JSON).
  std::vector<ValidationError> problems;
};

// One object as the API server serves it (JSON, turned into a node by the
// caller), through the same kind table and decoders as a manifest, with the
// same decisions; a List is not an object here.
DecodedApiObject DecodeObject(const YAML::Node& doc);

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_DECODE_H_
