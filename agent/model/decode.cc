#include "agent/model/decode.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace ferry::model {
namespace {

constexpr absl::string_view kStringTag = "tag:yaml.org,2002:str";

bool Absent(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

// A quoted scalar or one tagged !!str: a string even if it reads like a
// number, as in JSON.
bool IsStringScalar(const YAML::Node& node) {
  return node.IsScalar() && (node.Tag() == "!" || node.Tag() == kStringTag);
}

// node[key], or a null node when there is no such key. yaml-cpp returns an
// invalid node for a missing key, which throws on any question but
// IsDefined(); this keeps those from escaping.
YAML::Node Child(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap()) return YAML::Node();
  const YAML::Node child = node[key];
  return child.IsDefined() ? child : YAML::Node();
}

template <typename T>
struct Choice {
  absl::string_view spelling;
  T value;
};

// Reads the fields of one object, recording what is wrong with them
// against that object.
class FieldReader {
 public:
  FieldReader(ObjectRef object, std::vector<ValidationError>& problems)
      : object_(std::move(object)), problems_(problems) {}

  const ObjectRef& object() const { return object_; }
  bool failed() const { return failed_; }

  void Report(std::string field, std::string reason, Severity severity = Severity::kError) {
    failed_ = failed_ || severity == Severity::kError;
    problems_.push_back({.object = object_,
                         .field = std::move(field),
                         .reason = std::move(reason),
                         .severity = severity});
  }

  bool Map(const YAML::Node& node, const std::string& field) {
    if (node.IsMap()) return true;
    Report(field, "must be a map of fields");
    return false;
  }

  std::optional<std::string> String(const YAML::Node& node, const std::string& field) {
    if (Absent(node)) return std::nullopt;
    if (node.IsScalar()) return node.Scalar();
    Report(field, "must be a string");
    return std::nullopt;
  }

  std::optional<int64_t> Integer(const YAML::Node& node, const std::string& field) {
    if (Absent(node)) return std::nullopt;
    int64_t value = 0;
    if (IsStringScalar(node)) {
      Report(field, absl::StrCat("must be a number, not the string \"", node.Scalar(), "\""));
    } else if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
      Report(field, absl::StrCat(Shown(node), " is not an integer"));
    } else {
      return value;
    }
    return std::nullopt;
  }

  std::optional<bool> Bool(const YAML::Node& node, const std::string& field) {
    if (Absent(node)) return std::nullopt;
    bool value = false;
    if (!IsStringScalar(node) && YAML::convert<bool>::decode(node, value)) return value;
    Report(field, absl::StrCat(Shown(node), " is not a boolean (true or false)"));
    return std::nullopt;
  }

  std::optional<uint16_t> Port(const YAML::Node& node, const std::string& field) {
    const std::optional<int64_t> value = Integer(node, field);
    if (!value) return std::nullopt;
    if (*value >= 1 && *value <= UINT16_MAX) return static_cast<uint16_t>(*value);
    Report(field, absl::StrCat(*value, " is not a port (1-65535)"));
    return std::nullopt;
  }

  std::optional<uint16_t> RequiredPort(const YAML::Node& node, const std::string& field) {
    if (Absent(node)) Report(field, "required");
    return Port(node, field);
  }

  std::optional<net::IpAddress> Address(const YAML::Node& node, const std::string& field) {
    return Parsed(node, field, &net::IpAddress::Parse);
  }

  // The string at `node` as `parse` reads it; its error is reported.
  template <typename T>
  std::optional<T> Parsed(const YAML::Node& node, const std::string& field,
                          absl::StatusOr<T> (*parse)(absl::string_view)) {
    const std::optional<std::string> text = String(node, field);
    return text ? ParsedOrReported(parse(*text), field) : std::nullopt;
  }

  template <typename T>
  std::optional<T> ParsedOrReported(absl::StatusOr<T> parsed, const std::string& field) {
    if (parsed.ok()) return *std::move(parsed);
    Report(field, std::string(parsed.status().message()));
    return std::nullopt;
  }

  // `what` names the set in the message: "... is not a protocol (TCP, UDP)".
  template <typename T>
  std::optional<T> OneOf(const YAML::Node& node, const std::string& field, absl::string_view what,
                         std::initializer_list<Choice<T>> choices) {
    const std::optional<std::string> text = String(node, field);
    if (!text) return std::nullopt;
    std::string spellings;
    for (const Choice<T>& choice : choices) {
      if (choice.spelling == *text) return choice.value;
      absl::StrAppend(&spellings, spellings.empty() ? "" : ", ", choice.spelling);
    }
    Report(field, absl::StrCat("\"", *text, "\" is not ", what, " (", spellings, ")"));
    return std::nullopt;
  }

  Protocol ProtocolOf(const YAML::Node& node, const std::string& field) {
    if (node.IsScalar() && node.Scalar() == "SCTP") {
      Report(field, "SCTP is not supported (TCP, UDP)");
      return Protocol::kTCP;
    }
    return OneOf<Protocol>(node, field, "a protocol",
                           {{"TCP", Protocol::kTCP}, {"UDP", Protocol::kUDP}})
        .value_or(Protocol::kTCP);
  }

  // Calls each(item, "field[i]") for every item of a list.
  template <typename Each>
  void List(const YAML::Node& node, const std::string& field, Each each) {
    if (Absent(node)) return;
    if (!node.IsSequence()) return Report(field, "must be a list");
    for (size_t i = 0; i < node.size(); ++i) each(node[i], absl::StrCat(field, "[", i, "]"));
  }

  std::map<std::string, std::string> StringMap(const YAML::Node& node, const std::string& field) {
    std::map<std::string, std::string> result;
    if (Absent(node) || !Map(node, field)) return result;
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (std::optional<std::string> value =
              String(entry.second, absl::StrCat(field, "[", key, "]"))) {
        result[key] = *std::move(value);
      }
    }
    return result;
  }

 private:
  static std::string Shown(const YAML::Node& node) {
    return node.IsScalar() ? absl::StrCat("\"", node.Scalar(), "\"") : "a list or map";
  }

  ObjectRef object_;
  std::vector<ValidationError>& problems_;
  bool failed_ = false;
};

// Other controllers' conditions are theirs to get right: what cannot be
// read is skipped, never an error of the Service.
std::vector<StatusCondition> LenientConditions(const YAML::Node& node) {
  std::vector<StatusCondition> conditions;
  if (!node.IsSequence()) return conditions;
  auto text = [](const YAML::Node& item, const char* key) {
    const YAML::Node value = Child(item, key);
    return value.IsScalar() ? value.Scalar() : std::string();
  };
  for (const YAML::Node& item : node) {
    if (!item.IsMap() || text(item, "type").empty()) continue;
    StatusCondition condition{.type = text(item, "type"),
                              .status = text(item, "status"),
                              .reason = text(item, "reason"),
                              .message = text(item, "message"),
                              .last_transition_time = text(item, "lastTransitionTime")};
    (void)absl::SimpleAtoi(text(item, "observedGeneration"), &condition.observed_generation);
    conditions.push_back(std::move(condition));
  }
  return conditions;
}

ObjectMeta DecodeMetadata(const YAML::Node& node, bool namespaced, FieldReader& read) {
  ObjectMeta meta;
  if (Absent(node)) {
    read.Report("metadata.name", "required");
    return meta;
  }
  if (!read.Map(node, "metadata")) return meta;
  meta.name = read.String(Child(node, "name"), "metadata.name").value_or("");
  if (namespaced)
    meta.namespace_ = read.String(Child(node, "namespace"), "metadata.namespace").value_or("");
  if (namespaced && meta.namespace_.empty()) meta.namespace_ = "default";
  meta.labels = read.StringMap(Child(node, "labels"), "metadata.labels");
  meta.annotations = read.StringMap(Child(node, "annotations"), "metadata.annotations");
  if (const std::optional<std::string> created =
          read.String(Child(node, "creationTimestamp"), "metadata.creationTimestamp")) {
    absl::Time time;
    std::string ignored;
    if (absl::ParseTime(absl::RFC3339_full, *created, &time, &ignored)) {
      meta.creation_timestamp = time;
    } else {
      read.Report(
          "metadata.creationTimestamp",
          absl::StrCat("\"", *created, "\" is not an RFC 3339 time (2024-05-02T10:11:12Z)"));
    }
  }
  meta.resource_version =
      read.String(Child(node, "resourceVersion"), "metadata.resourceVersion").value_or("");
  meta.generation = read.Integer(Child(node, "generation"), "metadata.generation").value_or(0);
  return meta;
}

// The object's spec, or nullopt when it has none or it is not a map (both
// reported).
std::optional<YAML::Node> RequiredSpec(const YAML::Node& doc, FieldReader& read) {
  const YAML::Node spec = Child(doc, "spec");
  if (Absent(spec)) {
    read.Report("spec", "required");
    return std::nullopt;
  }
  if (!read.Map(spec, "spec")) return std::nullopt;
  return spec;
}

std::vector<std::string> StringList(const YAML::Node& node, const std::string& field,
                                    FieldReader& read) {
  std::vector<std::string> strings;
  read.List(node, field, [&](const YAML::Node& item, const std::string& at) {
    if (std::optional<std::string> text = read.String(item, at)) strings.push_back(*text);
  });
  return strings;
}

// A metav1.LabelSelector, unchecked: net::ValidateSelector (selector.h) checks it.
net::LabelSelectorSpec DecodeSelector(const YAML::Node& node, const std::string& field,
                                 FieldReader& read) {
  net::LabelSelectorSpec selector;
  if (Absent(node) || !read.Map(node, field)) return selector;
  selector.match_labels = read.StringMap(Child(node, "matchLabels"), field + ".matchLabels");
  read.List(Child(node, "matchExpressions"), field + ".matchExpressions",
            [&](const YAML::Node& item, const std::string& at) {
              if (!read.Map(item, at)) return;
              selector.match_expressions.push_back(
                  {.key = read.String(Child(item, "key"), at + ".key").value_or(""),
                   .operator_ = read.String(Child(item, "operator"), at + ".operator").value_or(""),
                   .values = StringList(Child(item, "values"), at + ".values", read)});
            });
  return selector;
}

TargetPort DecodeTargetPort(const YAML::Node& node, const std::string& field, uint16_t port,
                            FieldReader& read) {
  // 0 and "" mean "the same as port", as the API server defaults them.
  if (Absent(node) || (node.IsScalar() && (node.Scalar() == "0" || node.Scalar().empty()))) {
    return {.number = port, .name = ""};
  }
  int64_t number = 0;
  if (node.IsScalar() && (IsStringScalar(node) || !absl::SimpleAtoi(node.Scalar(), &number))) {
    return {.number = 0, .name = node.Scalar()};
  }
  return {.number = read.Port(node, field).value_or(0), .name = ""};
}

std::vector<net::IpAddress> DecodeAddressList(absl::string_view text, const std::string& field,
                                         FieldReader& read) {
  std::vector<net::IpAddress> addresses;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    if (std::optional<net::IpAddress> address =
            read.ParsedOrReported(net::IpAddress::Parse(absl::StripAsciiWhitespace(item)), field)) {
      addresses.push_back(*address);
    }
  }
  return addresses;
}

// nullopt for a Service Ferry does not handle (reported as info) or one
// with field errors.
std::optional<Service> DecodeService(const YAML::Node& doc, FieldReader& read) {
  Service service;
  service.metadata = DecodeMetadata(Child(doc, "metadata"), true, read);
  const std::optional<YAML::Node> found_spec = RequiredSpec(doc, read);
  if (!found_spec) return std::nullopt;
  const YAML::Node& spec = *found_spec;
  const std::string type = read.String(Child(spec, "type"), "spec.type").value_or("ClusterIP");
  if (type != "LoadBalancer") {
    read.Report("spec.type",
                absl::StrCat("a ", type, " Service is not ours (only LoadBalancer); ignored"),
                Severity::kInfo);
    return std::nullopt;
  }
  service.load_balancer_class =
      read.String(Child(spec, "loadBalancerClass"), "spec.loadBalancerClass").value_or("");
  if (!service.load_balancer_class.empty() && service.load_balancer_class != kLoadBalancerClass) {
    read.Report(
        "spec.loadBalancerClass",
        absl::StrCat("\"", service.load_balancer_class, "\" is another load balancer's class (",
                     "Ferry's is \"", kLoadBalancerClass, "\"); ignored"),
        Severity::kInfo);
    return std::nullopt;
  }
  read.List(
      Child(spec, "ports"), "spec.ports", [&](const YAML::Node& item, const std::string& field) {
        if (!read.Map(item, field)) return;
        ServicePort port;
        port.name = read.String(Child(item, "name"), field + ".name").value_or("");
        port.protocol = read.ProtocolOf(Child(item, "protocol"), field + ".protocol");
        port.port = read.RequiredPort(Child(item, "port"), field + ".port").value_or(0);
        port.target_port =
            DecodeTargetPort(Child(item, "targetPort"), field + ".targetPort", port.port, read);
        service.ports.push_back(std::move(port));
      });
  read.List(Child(spec, "ipFamilies"), "spec.ipFamilies",
            [&](const YAML::Node& item, const std::string& field) {
              if (std::optional<net::IpFamily> family = read.OneOf<net::IpFamily>(
                      item, field, "an IP family",
                      {{"IPv4", net::IpFamily::kIPv4}, {"IPv6", net::IpFamily::kIPv6}})) {
                service.ip_families.push_back(*family);
              }
            });
  service.ip_family_policy = read.OneOf<IpFamilyPolicy>(
      Child(spec, "ipFamilyPolicy"), "spec.ipFamilyPolicy", "an IP family policy",
      {{"SingleStack", IpFamilyPolicy::kSingleStack},
       {"PreferDualStack", IpFamilyPolicy::kPreferDualStack},
       {"RequireDualStack", IpFamilyPolicy::kRequireDualStack}});
  if (const std::string ip =
          read.String(Child(spec, "loadBalancerIP"), "spec.loadBalancerIP").value_or("");
      !ip.empty()) {
    service.load_balancer_ip = read.ParsedOrReported(net::IpAddress::Parse(ip), "spec.loadBalancerIP");
  }
  const std::vector<std::string> external_ips =
      StringList(Child(spec, "externalIPs"), "spec.externalIPs", read);
  for (size_t i = 0; i < external_ips.size(); ++i) {
    if (std::optional<net::IpAddress> ip = read.ParsedOrReported(
            net::IpAddress::Parse(external_ips[i]), absl::StrCat("spec.externalIPs[", i, "]"))) {
      service.external_ips.push_back(*ip);
    }
  }
  service.external_traffic_policy =
      read.OneOf<TrafficPolicy>(
              Child(spec, "externalTrafficPolicy"), "spec.externalTrafficPolicy",
              "a traffic policy",
              {{"Cluster", TrafficPolicy::kCluster}, {"Local", TrafficPolicy::kLocal}})
          .value_or(TrafficPolicy::kCluster);
  if (auto it = service.metadata.annotations.find(std::string(kIpsAnnotation));
      it != service.metadata.annotations.end()) {
    service.annotated_ips = DecodeAddressList(
        it->second, absl::StrCat("metadata.annotations[", kIpsAnnotation, "]"), read);
  }
  read.List(Child(Child(Child(doc, "status"), "loadBalancer"), "ingress"),
            "status.loadBalancer.ingress", [&](const YAML::Node& item, const std::string& field) {
              // An entry with only a hostname is another implementation's
              // business; there is no address to serve.
              if (std::optional<net::IpAddress> ip = read.Address(Child(item, "ip"), field + ".ip")) {
                service.ingress_ips.push_back(*ip);
              }
            });
  service.conditions = LenientConditions(Child(Child(doc, "status"), "conditions"));
  return service;
}

std::optional<EndpointSlice> DecodeEndpointSlice(const YAML::Node& doc, FieldReader& read) {
  EndpointSlice slice;
  slice.metadata = DecodeMetadata(Child(doc, "metadata"), true, read);
  if (auto it = slice.metadata.labels.find(std::string(kServiceNameLabel));
      it != slice.metadata.labels.end()) {
    slice.service_name = it->second;
  }
  const std::string address_type =
      read.String(Child(doc, "addressType"), "addressType").value_or("");
  if (address_type == "FQDN") {
    read.Report("addressType", "FQDN slices are not ours; ignored", Severity::kInfo);
    return std::nullopt;
  }
  if (address_type.empty()) {
    read.Report("addressType", "required");
  } else if (std::optional<net::IpFamily> family =
                 read.OneOf<net::IpFamily>(Child(doc, "addressType"), "addressType", "an address type",
                                      {{"IPv4", net::IpFamily::kIPv4}, {"IPv6", net::IpFamily::kIPv6}})) {
    slice.address_type = *family;
  }
  read.List(
      Child(doc, "endpoints"), "endpoints", [&](const YAML::Node& item, const std::string& field) {
        if (!read.Map(item, field)) return;
        Endpoint endpoint;
        read.List(Child(item, "addresses"), field + ".addresses",
                  [&](const YAML::Node& address, const std::string& address_field) {
                    if (std::optional<net::IpAddress> parsed = read.Address(address, address_field)) {
                      endpoint.addresses.push_back(*parsed);
                    }
                  });
        if (const YAML::Node conditions = Child(item, "conditions");
            !Absent(conditions) && read.Map(conditions, field + ".conditions")) {
          endpoint.conditions.ready =
              read.Bool(Child(conditions, "ready"), field + ".conditions.ready");
          endpoint.conditions.serving =
              read.Bool(Child(conditions, "serving"), field + ".conditions.serving");
          endpoint.conditions.terminating =
              read.Bool(Child(conditions, "terminating"), field + ".conditions.terminating");
        }
        endpoint.node_name = read.String(Child(item, "nodeName"), field + ".nodeName").value_or("");
        slice.endpoints.push_back(std::move(endpoint));
      });
  read.List(Child(doc, "ports"), "ports", [&](const YAML::Node& item, const std::string& field) {
    if (!read.Map(item, field)) return;
    slice.ports.push_back(
        {.name = read.String(Child(item, "name"), field + ".name").value_or(""),
         .port = read.Port(Child(item, "port"), field + ".port"),
         .protocol = read.ProtocolOf(Child(item, "protocol"), field + ".protocol")});
  });
  return slice;
}

std::optional<Node> DecodeNode(const YAML::Node& doc, FieldReader& read) {
  Node node;
  node.metadata = DecodeMetadata(Child(doc, "metadata"), false, read);
  enum class AddressKind { kInternalIp, kExternalIp, kHostname, kUnused };
  read.List(
      Child(Child(doc, "status"), "addresses"), "status.addresses",
      [&](const YAML::Node& item, const std::string& field) {
        if (!read.Map(item, field)) return;
        const std::optional<AddressKind> kind =
            read.OneOf<AddressKind>(Child(item, "type"), field + ".type", "a node address type",
                                    {{"InternalIP", AddressKind::kInternalIp},
                                     {"ExternalIP", AddressKind::kExternalIp},
                                     {"Hostname", AddressKind::kHostname},
                                     {"InternalDNS", AddressKind::kUnused},
                                     {"ExternalDNS", AddressKind::kUnused}});
        const std::string address_field = field + ".address";
        if (!kind || *kind == AddressKind::kUnused) return;
        if (*kind == AddressKind::kHostname) {
          if (auto name = read.String(Child(item, "address"), address_field))
            node.hostnames.push_back(*name);
          return;
        }
        std::optional<net::IpAddress> ip = read.Address(Child(item, "address"), address_field);
        if (!ip) return;
        (*kind == AddressKind::kInternalIp ? node.internal_ips : node.external_ips).push_back(*ip);
      });
  const YAML::Node spec = Child(doc, "spec");
  auto add_prefix = [&](const YAML::Node& item, const std::string& field) {
    if (auto prefix = read.Parsed(item, field, &net::IpPrefix::Parse)) node.pod_cidrs.push_back(*prefix);
  };
  if (!Absent(Child(spec, "podCIDRs"))) {
    read.List(Child(spec, "podCIDRs"), "spec.podCIDRs", add_prefix);
  } else if (!Absent(Child(spec, "podCIDR"))) {
    add_prefix(Child(spec, "podCIDR"), "spec.podCIDR");
  }
  return node;
}

std::optional<LoadBalancerIPPool> DecodePool(const YAML::Node& doc, FieldReader& read) {
  LoadBalancerIPPool pool;
  pool.metadata = DecodeMetadata(Child(doc, "metadata"), false, read);
  pool.spec.name = pool.metadata.name;
  pool.spec.creation_timestamp = pool.metadata.creation_timestamp.value_or(absl::InfinitePast());
  const std::optional<YAML::Node> found_spec = RequiredSpec(doc, read);
  if (!found_spec) return std::nullopt;
  const YAML::Node& spec = *found_spec;
  read.List(Child(spec, "blocks"), "spec.blocks",
            [&](const YAML::Node& item, const std::string& field) {
              if (!read.Map(item, field)) return;
              auto text = [&](const char* key) {
                return read.String(Child(item, key), absl::StrCat(field, ".", key)).value_or("");
              };
              pool.spec.blocks.push_back(
                  {.cidr = text("cidr"), .start = text("start"), .stop = text("stop")});
            });
  pool.spec.service_selector =
      DecodeSelector(Child(spec, "serviceSelector"), "spec.serviceSelector", read);
  pool.spec.disabled = read.Bool(Child(spec, "disabled"), "spec.disabled").value_or(false);
  pool.spec.allow_first_last_ips =
      read.Bool(Child(spec, "allowFirstLastIPs"), "spec.allowFirstLastIPs").value_or(false);
  pool.spec.avoid_buggy_ips =
      read.Bool(Child(spec, "avoidBuggyIPs"), "spec.avoidBuggyIPs").value_or(false);
  return pool;
}

std::optional<L2AnnouncementPolicy> DecodeL2Policy(const YAML::Node& doc, FieldReader& read) {
  L2AnnouncementPolicy policy;
  policy.metadata = DecodeMetadata(Child(doc, "metadata"), false, read);
  policy.spec.name = policy.metadata.name;
  const std::optional<YAML::Node> found_spec = RequiredSpec(doc, read);
  if (!found_spec) return std::nullopt;
  const YAML::Node& spec = *found_spec;
  policy.spec.service_selector =
      DecodeSelector(Child(spec, "serviceSelector"), "spec.serviceSelector", read);
  policy.spec.node_selector =
      DecodeSelector(Child(spec, "nodeSelector"), "spec.nodeSelector", read);
  policy.spec.interfaces = StringList(Child(spec, "interfaces"), "spec.interfaces", read);
  // The CRD's defaults.
  policy.spec.load_balancer_ips =
      read.Bool(Child(spec, "loadBalancerIPs"), "spec.loadBalancerIPs").value_or(true);
  policy.spec.external_ips =
      read.Bool(Child(spec, "externalIPs"), "spec.externalIPs").value_or(false);
  return policy;
}

std::optional<uint32_t> Uint32(const YAML::Node& node, const std::string& field,
                               FieldReader& read) {
  const std::optional<int64_t> value = read.Integer(node, field);
  if (!value) return std::nullopt;
  if (*value >= 0 && *value <= UINT32_MAX) return static_cast<uint32_t>(*value);
  read.Report(field, absl::StrCat(*value, " is out of range (0-4294967295)"));
  return std::nullopt;
}

// An int whose range validation checks.
std::optional<int> SmallInteger(const YAML::Node& node, const std::string& field,
                                FieldReader& read) {
  const std::optional<int64_t> value = read.Integer(node, field);
  if (!value) return std::nullopt;
  if (*value >= INT32_MIN && *value <= INT32_MAX) return static_cast<int>(*value);
  read.Report(field, absl::StrCat(*value, " is out of range"));
  return std::nullopt;
}

std::optional<absl::Duration> Duration(const YAML::Node& node, const std::string& field,
                                       FieldReader& read) {
  return read.Parsed(node, field, &ParseBgpDuration);
}

// The parsed items of a list of strings, each checked by `parse`.
template <typename T>
std::vector<T> ParsedList(const YAML::Node& node, const std::string& field, FieldReader& read,
                          absl::StatusOr<T> (*parse)(absl::string_view)) {
  std::vector<T> items;
  read.List(node, field, [&](const YAML::Node& item, const std::string& at) {
    if (std::optional<T> parsed = read.Parsed(item, at, parse)) items.push_back(*parsed);
  });
  return items;
}

std::optional<BgpPeer> DecodeBgpPeer(const YAML::Node& doc, FieldReader& read) {
  BgpPeer peer;
  peer.metadata = DecodeMetadata(Child(doc, "metadata"), false, read);
  const std::optional<YAML::Node> found_spec = RequiredSpec(doc, read);
  if (!found_spec) return std::nullopt;
  const YAML::Node& spec = *found_spec;
  BgpPeerSpec& out = peer.spec;
  if (Absent(Child(spec, "peerAddress"))) read.Report("spec.peerAddress", "required");
  if (auto address = read.Address(Child(spec, "peerAddress"), "spec.peerAddress")) {
    out.peer_address = *address;
  }
  // Zero is reported by validation, with absence.
  out.peer_asn = Uint32(Child(spec, "peerASN"), "spec.peerASN", read).value_or(0);
  out.local_asn = Uint32(Child(spec, "localASN"), "spec.localASN", read).value_or(0);
  out.router_id = read.Address(Child(spec, "routerID"), "spec.routerID");
  out.source_address = read.Address(Child(spec, "sourceAddress"), "spec.sourceAddress");
  out.port = read.Port(Child(spec, "port"), "spec.port").value_or(out.port);
  out.hold_time = Duration(Child(spec, "holdTime"), "spec.holdTime", read).value_or(out.hold_time);
  out.keepalive_time = Duration(Child(spec, "keepaliveTime"), "spec.keepaliveTime", read);
  out.connect_retry_time = Duration(Child(spec, "connectRetryTime"), "spec.connectRetryTime", read)
                               .value_or(out.connect_retry_time);
  if (const YAML::Node ref = Child(spec, "passwordSecretRef");
      !Absent(ref) && read.Map(ref, "spec.passwordSecretRef")) {
    out.password_secret_ref = SecretKeyRef{
        .name = read.String(Child(ref, "name"), "spec.passwordSecretRef.name").value_or(""),
        .key = read.String(Child(ref, "key"), "spec.passwordSecretRef.key").value_or("")};
  }
  out.node_selector = DecodeSelector(Child(spec, "nodeSelector"), "spec.nodeSelector", read);
  if (!Absent(Child(spec, "families"))) {
    out.families.clear();
    read.List(Child(spec, "families"), "spec.families",
              [&](const YAML::Node& item, const std::string& field) {
                if (auto family = read.OneOf<bgp::AfiSafi>(item, field, "an address family",
                                                           {{"ipv4-unicast", bgp::kIpv4Unicast},
                                                            {"ipv6-unicast", bgp::kIpv6Unicast}})) {
                  out.families.push_back(*family);
                }
              });
  }
  if (const YAML::Node restart = Child(spec, "gracefulRestart");
      !Absent(restart) && read.Map(restart, "spec.gracefulRestart")) {
    out.graceful_restart.enabled =
        read.Bool(Child(restart, "enabled"), "spec.gracefulRestart.enabled").value_or(true);
    out.graceful_restart.restart_time =
        Duration(Child(restart, "restartTime"), "spec.gracefulRestart.restartTime", read)
            .value_or(out.graceful_restart.restart_time);
  }
  out.ebgp_multihop = SmallInteger(Child(spec, "ebgpMultihop"), "spec.ebgpMultihop", read);
  out.passive = read.Bool(Child(spec, "passive"), "spec.passive").value_or(false);
  return peer;
}

std::optional<BgpAdvertisement> DecodeBgpAdvertisement(const YAML::Node& doc, FieldReader& read) {
  BgpAdvertisement advertisement;
  advertisement.metadata = DecodeMetadata(Child(doc, "metadata"), false, read);
  const std::optional<YAML::Node> found_spec = RequiredSpec(doc, read);
  if (!found_spec) return std::nullopt;
  const YAML::Node& spec = *found_spec;
  BgpAdvertisementSpec& out = advertisement.spec;
  read.List(Child(spec, "advertise"), "spec.advertise",
            [&](const YAML::Node& item, const std::string& field) {
              if (auto what = read.OneOf<BgpAdvertised>(
                      item, field, "something to advertise",
                      {{"LoadBalancerIPs", BgpAdvertised::kLoadBalancerIPs},
                       {"PodCIDR", BgpAdvertised::kPodCIDR}})) {
                out.advertise.push_back(*what);
              }
            });
  out.service_selector =
      DecodeSelector(Child(spec, "serviceSelector"), "spec.serviceSelector", read);
  out.peers = StringList(Child(spec, "peers"), "spec.peers", read);
  out.communities =
      ParsedList<uint32_t>(Child(spec, "communities"), "spec.communities", read, &ParseCommunity);
  out.large_communities = ParsedList<bgp::LargeCommunity>(
      Child(spec, "largeCommunities"), "spec.largeCommunities", read, &ParseLargeCommunity);
  out.local_preference = Uint32(Child(spec, "localPreference"), "spec.localPreference", read);
  out.med = Uint32(Child(spec, "med"), "spec.med", read);
  out.aggregation_length =
      SmallInteger(Child(spec, "aggregationLength"), "spec.aggregationLength", read)
          .value_or(out.aggregation_length);
  out.aggregation_length_v6 =
      SmallInteger(Child(spec, "aggregationLengthV6"), "spec.aggregationLengthV6", read)
          .value_or(out.aggregation_length_v6);
  return advertisement;
}

struct KeyProblem {
  std::string field;
  std::string reason;
};

// The first key of a map of `node` (at `field`) that is not a string, or
// that the map has twice. The API server's objects are JSON, whose keys are
// strings. yaml-cpp keeps both entries of a repeated key and node[key] finds
// the first, while the author probably meant the last: neither guess is
// safe, so the object is rejected.
std::optional<KeyProblem> FindKeyProblem(const YAML::Node& node, const std::string& field) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (auto found = FindKeyProblem(node[i], absl::StrCat(field, "[", i, "]"))) return found;
    }
  }
  if (!node.IsMap()) return std::nullopt;
  std::set<std::string> keys;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      return KeyProblem{field, absl::StrCat("a key must be a string, not ",
                                            entry.first.IsNull() ? "null" : "a list or map")};
    }
    const std::string key = entry.first.Scalar();
    const std::string child = field.empty() ? key : absl::StrCat(field, ".", key);
    if (!keys.insert(key).second) return KeyProblem{child, "the key appears twice in the same map"};
    if (auto found = FindKeyProblem(entry.second, child)) return found;
  }
  return std::nullopt;
}

struct DocumentText {
  absl::string_view text;
  int first_line = 1;
};

// Splits a stream into its documents at "---" lines, so that each is parsed
// and decoded on its own: yaml-cpp's node trees take some 60 times the
// text's size, too much to hold for a whole large file at once. A line
// starting with "---" and then a space or its end is a document marker and
// can be nothing else (YAML 1.2 §9.1.4, "c-forbidden"), so this is exact.
// Directives ("%YAML") and comments before a marker stay with it.
std::vector<DocumentText> SplitDocuments(absl::string_view text) {
  std::vector<DocumentText> documents;
  size_t start = 0;
  int start_line = 1;
  int line = 1;
  bool has_content = false;
  for (size_t at = 0; at < text.size(); ++line) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const absl::string_view row = text.substr(at, end - at);
    const bool marker = absl::StartsWith(row, "---") &&
                        (row.size() == 3 || row[3] == ' ' || row[3] == '\t' || row[3] == '\r');
    if (marker && has_content) {
      documents.push_back({text.substr(start, at - start), start_line});
      start = at;
      start_line = line;
    }
    const absl::string_view content = absl::StripLeadingAsciiWhitespace(row);
    has_content =
        has_content || marker ||
        !(content.empty() || absl::StartsWith(content, "#") || absl::StartsWith(content, "%"));
    at = end + 1;
  }
  if (has_content) documents.push_back({text.substr(start), start_line});
  return documents;
}

// The first alias of a stream, else its first anchor, as the parser's events
// show them: nothing is expanded, so the scan costs the text's size.
class AnchorFinder final : public YAML::EventHandler {
 public:
  // "alias *name" or "anchor &name", where it is; nullopt when there is none.
  std::optional<std::pair<YAML::Mark, std::string>> First() const {
    return alias_ ? alias_ : anchor_;
  }

  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    if (!anchor_) anchor_ = {mark, absl::StrCat("anchor &", name)};
    naming_ = name;
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (!alias_) alias_ = {mark, absl::StrCat("alias *", names_[anchor])};
  }
  // Each anchored node comes right after its OnAnchor, with the anchor's id.
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { Name(anchor); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    Name(anchor);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Name(anchor);
  }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Name(anchor);
  }
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override { names_.clear(); }  // anchor ids are per document
  void OnSequenceEnd() override {}
  void OnMapEnd() override {}

 private:
  void Name(YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) names_[anchor] = naming_;
  }

  std::optional<std::pair<YAML::Mark, std::string>> alias_;
  std::optional<std::pair<YAML::Mark, std::string>> anchor_;
  std::map<YAML::anchor_t, std::string> names_;
  std::string naming_;
};

// Anchors and aliases are refused. yaml-cpp loads an alias as a node shared
// with its anchor, so a few hundred bytes of aliases of aliases (the
// "billion laughs") make a tree with billions of paths, and every walk of it
// (the key check, each decoder) would take exponential time. Kubernetes
// objects never need them: the API server keeps and serves JSON, which has
// neither, and was itself hit by this (CVE-2019-11253). Capping the nodes
// visited instead would need every walk to honour the cap. Throws
// YAML::Exception on a syntax error, as YAML::Load does.
absl::Status CheckNoAnchorsOrAliases(const DocumentText& document) {
  // Both need a '&' or a '*': most documents have neither and skip the scan.
  if (document.text.find_first_of("&*") == absl::string_view::npos) return absl::OkStatus();
  std::istringstream stream{std::string(document.text)};
  YAML::Parser parser(stream);
  AnchorFinder finder;
  while (parser.HandleNextDocument(finder)) {
  }
  const std::optional<std::pair<YAML::Mark, std::string>> found = finder.First();
  if (!found) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "line ", document.first_line + found->first.line, ", column ", found->first.column + 1,
      ": YAML ", found->second,
      ": anchors and aliases are not accepted (Kubernetes objects never need them, and aliases "
      "of aliases make a small file expand without bound); write the values out"));
}

// A kind Ferry reads (KindInfo: its apiVersion, resource and scope) and its
// decoder. Adding a kind is one entry here plus its decoder; a kind not
// listed is "not ours", and a listed kind in another apiVersion is an error,
// so nothing reaches a decoder but its own kind.
struct KindEntry {
  KindInfo info;
  std::optional<Object> (*decode)(const YAML::Node& doc, FieldReader& read);
};

template <typename T, std::optional<T> (*Decode)(const YAML::Node&, FieldReader&)>
std::optional<Object> DecodeAs(const YAML::Node& doc, FieldReader& read) {
  std::optional<T> typed = Decode(doc, read);
  if (!typed) return std::nullopt;
  return Object(*std::move(typed));
}

constexpr KindEntry kKinds[] = {
    {{"v1", kServiceKind, "services", true}, &DecodeAs<Service, DecodeService>},
    {{"discovery.k8s.io/v1", kEndpointSliceKind, "endpointslices", true},
     &DecodeAs<EndpointSlice, DecodeEndpointSlice>},
    {{"v1", kNodeKind, "nodes", false}, &DecodeAs<Node, DecodeNode>},
    {{kFerryApiVersion, kLoadBalancerIPPoolKind, "loadbalancerippools", false},
     &DecodeAs<LoadBalancerIPPool, DecodePool>},
    {{kFerryApiVersion, kL2AnnouncementPolicyKind, "l2announcementpolicies", false},
     &DecodeAs<L2AnnouncementPolicy, DecodeL2Policy>},
    {{kFerryApiVersion, kBgpPeerKind, "bgppeers", false}, &DecodeAs<BgpPeer, DecodeBgpPeer>},
    {{kFerryApiVersion, kBgpAdvertisementKind, "bgpadvertisements", false},
     &DecodeAs<BgpAdvertisement, DecodeBgpAdvertisement>},
};

}  // namespace

std::vector<KindInfo> Kinds() {
  std::vector<KindInfo> kinds;
  for (const KindEntry& entry : kKinds) kinds.push_back(entry.info);
  return kinds;
}

namespace {

// The object, or nullopt with its problems in `problems`. The items of a
// List go to `list_item`; without one, a List is not ours.
std::optional<Object> DecodeOne(const YAML::Node& doc, std::vector<ValidationError>& problems,
                                const std::function<void(const YAML::Node&)>& list_item) {
  // Name the object as well as can be done before its fields are read,
  // so that even "kind: required" says which object it is about.
  const YAML::Node meta = Child(doc, "metadata");
  auto scalar = [](const YAML::Node& node) { return node.IsScalar() ? node.Scalar() : ""; };
  ObjectRef ref{scalar(Child(doc, "kind")), scalar(Child(meta, "namespace")),
                scalar(Child(meta, "name"))};
  FieldReader read(ref, problems);
  if (!doc.IsMap()) {
    read.Report("", "a manifest document must be a map of fields, not a list or a string");
    return std::nullopt;
  }
  const std::string api_version =
      read.String(Child(doc, "apiVersion"), "apiVersion").value_or("");
  if (api_version.empty()) read.Report("apiVersion", "required");
  if (ref.kind.empty()) read.Report("kind", "required");
  if (read.failed()) return std::nullopt;

  if (ref.kind == "List" && list_item) {
    read.List(Child(doc, "items"), "items",
              [&](const YAML::Node& item, const std::string&) { list_item(item); });
    return std::nullopt;
  }
  const KindEntry* known = std::find_if(std::begin(kKinds), std::end(kKinds),
                                        [&](const KindEntry& k) { return k.info.kind == ref.kind; });
  if (known == std::end(kKinds)) {
    read.Report("kind", absl::StrCat(api_version, " ", ref.kind, " is not ours; ignored"),
                Severity::kInfo);
    return std::nullopt;
  }
  // The reference problems are reported against, from here on.
  ref.namespace_ = known->info.namespaced ? (ref.namespace_.empty() ? "default" : ref.namespace_) : "";
  FieldReader fields(ref, problems);
  if (api_version != known->info.api_version) {
    fields.Report("apiVersion", absl::StrCat("\"", api_version, "\" is not supported for ",
                                             ref.kind, "; use ", known->info.api_version));
    return std::nullopt;
  }
  if (std::optional<KeyProblem> problem = FindKeyProblem(doc, "")) {
    fields.Report(std::move(problem->field), std::move(problem->reason));
    return std::nullopt;
  }
  std::optional<Object> object = known->decode(doc, fields);
  if (fields.failed()) return std::nullopt;
  return object;
}

// The object with its validation's problems added.
std::optional<Object> DecodeValid(const YAML::Node& doc, std::vector<ValidationError>& problems,
                                  const std::function<void(const YAML::Node&)>& list_item) {
  std::optional<Object> object = DecodeOne(doc, problems, list_item);
  if (!object) return std::nullopt;
  for (ValidationError& error : Validate(*object)) problems.push_back(std::move(error));
  if (!problems.empty()) return std::nullopt;
  return object;
}

class ManifestDecoder {
 public:
  // `line_offset`: lines of the stream before the document's text.
  void Document(const YAML::Node& doc, int line_offset) {
    line_offset_ = line_offset;
    Add(doc);
  }

  DecodedManifest Take() { return std::move(out_); }

 private:
  // One object, or a List of them.
  void Add(const YAML::Node& doc) {
    if (Absent(doc)) return;
    const int line = line_offset_ + doc.Mark().line + 1;
    std::vector<ValidationError> problems;
    if (std::optional<Object> object =
            DecodeValid(doc, problems, [this](const YAML::Node& item) { Add(item); })) {
      out_.objects.push_back({.object = *std::move(object), .line = line});
    }
    for (ValidationError& problem : problems) {
      out_.problems.push_back({.error = std::move(problem), .line = line});
    }
  }

  int line_offset_ = 0;
  DecodedManifest out_;
};

}  // namespace

absl::StatusOr<DecodedManifest> DecodeManifest(absl::string_view text) {
  ManifestDecoder decoder;
  for (const DocumentText& document : SplitDocuments(text)) {
    YAML::Node node;
    try {
      if (absl::Status refused = CheckNoAnchorsOrAliases(document); !refused.ok()) return refused;
      node = YAML::Load(std::string(document.text));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("line ", document.first_line + e.mark.line,
                                                     ", column ", e.mark.column + 1, ": ", e.msg));
    }
    decoder.Document(node, document.first_line - 1);
  }
  return decoder.Take();
}

DecodedApiObject DecodeObject(const YAML::Node& doc) {
  DecodedApiObject out;
  out.object = DecodeValid(doc, out.problems, nullptr);
  return out;
}

}  // namespace ferry::model
