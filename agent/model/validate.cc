#include "agent/model/validate.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/names.h"
#include "net/selector.h"

namespace ferry::model {
namespace {

// A name rule and what it says, for the message.
struct NameRule {
  bool (*valid)(absl::string_view);
  absl::string_view description;
};

constexpr NameRule kDns1123Label{
    net::IsDns1123Label,
    "a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a "
    "letter or digit)"};
constexpr NameRule kDns1123Subdomain{
    net::IsDns1123Subdomain,
    "a DNS-1123 subdomain (at most 253 characters: DNS-1123 labels joined by '.')"};
constexpr NameRule kDns1035Label{
    net::IsDns1035Label,
    "a DNS-1035 label (at most 63 lowercase letters, digits and '-', starting with a letter and "
    "ending with a letter or digit)"};
constexpr NameRule kPortName{net::IsPortName,
                             "a port name (at most 15 lowercase letters, digits and '-', with a "
                             "letter, no '-' at either end "
                             "or next to another)"};

// Collects the problems of one object.
class Checker {
 public:
  explicit Checker(ObjectRef object) : object_(std::move(object)) {}

  void Error(std::string field, std::string reason) {
    errors_.push_back({.object = object_, .field = std::move(field), .reason = std::move(reason)});
  }

  void Errors(const std::vector<net::FieldError>& errors) {
    for (const net::FieldError& error : errors) Error(error.field, error.reason);
  }

  void Name(std::string field, absl::string_view name, const NameRule& rule) {
    if (name.empty()) return Error(std::move(field), "required");
    if (!rule.valid(name))
      Error(std::move(field), absl::StrCat("\"", name, "\" is not ", rule.description));
  }

  // Reports every value seen before at another index of `list_field`.
  template <typename Key>
  void Unique(std::map<Key, size_t>& seen, const Key& key, absl::string_view list_field,
              size_t index, absl::string_view item_field, absl::string_view shown) {
    auto [it, inserted] = seen.try_emplace(key, index);
    if (inserted) return;
    Error(absl::StrCat(list_field, "[", index, "]", item_field),
          absl::StrCat("duplicate ", shown, " (also ", list_field, "[", it->second, "])"));
  }

  std::vector<ValidationError> Take() { return std::move(errors_); }

 private:
  ObjectRef object_;
  std::vector<ValidationError> errors_;
};

void CheckLabels(const ObjectMeta& metadata, Checker& check) {
  check.Errors(net::ValidateLabels(metadata.labels, "metadata.labels"));
}

std::string FamilyList(const std::vector<net::IpFamily>& families) {
  return absl::StrCat(
      "[",
      absl::StrJoin(families, ", ",
                    [](std::string* out, net::IpFamily f) { absl::StrAppend(out, net::FamilyName(f)); }),
      "]");
}

void CheckServicePorts(const Service& service, Checker& check) {
  if (service.ports.empty()) {
    return check.Error("spec.ports", "required: a LoadBalancer Service needs at least one port");
  }
  std::map<std::string, size_t> names;
  std::map<std::pair<uint16_t, Protocol>, size_t> numbers;
  for (size_t i = 0; i < service.ports.size(); ++i) {
    const ServicePort& port = service.ports[i];
    const std::string field = absl::StrCat("spec.ports[", i, "]");
    if (!port.name.empty() || service.ports.size() > 1) {
      if (port.name.empty()) {
        check.Error(field + ".name", "required when a Service has more than one port");
      } else {
        check.Name(field + ".name", port.name, kDns1123Label);
        check.Unique(names, port.name, "spec.ports", i, ".name",
                     absl::StrCat("port name \"", port.name, "\""));
      }
    }
    check.Unique(numbers, std::pair(port.port, port.protocol), "spec.ports", i, "",
                 absl::StrCat("port ", port.port, "/", ProtocolName(port.protocol)));
    if (!port.target_port.name.empty()) {
      check.Name(field + ".targetPort", port.target_port.name, kPortName);
    }
  }
}

// Every address of one VIP source must be of a family the Service allows.
// Returns the families the source has.
std::set<net::IpFamily> CheckVipFamilies(const Service& service, absl::string_view field,
                                    const std::vector<net::IpAddress>& addresses, Checker& check) {
  std::set<net::IpFamily> families;
  for (const net::IpAddress& address : addresses) {
    families.insert(address.family);
    if (!service.ip_families.empty() &&
        std::find(service.ip_families.begin(), service.ip_families.end(), address.family) ==
            service.ip_families.end()) {
      check.Error(std::string(field),
                  absl::StrCat(address.ToString(), " is ", net::FamilyName(address.family),
                               " but spec.ipFamilies is ", FamilyList(service.ip_families)));
    }
  }
  if (service.ip_family_policy == IpFamilyPolicy::kSingleStack && families.size() > 1) {
    check.Error(std::string(field),
                "has IPv4 and IPv6 addresses but spec.ipFamilyPolicy is SingleStack");
  }
  return families;
}

void CheckServiceFamilies(const Service& service, Checker& check) {
  std::map<net::IpFamily, size_t> seen;
  for (size_t i = 0; i < service.ip_families.size(); ++i) {
    check.Unique(seen, service.ip_families[i], "spec.ipFamilies", i, "",
                 std::string(net::FamilyName(service.ip_families[i])));
  }
  if (service.ip_family_policy == IpFamilyPolicy::kSingleStack && service.ip_families.size() > 1) {
    check.Error("spec.ipFamilies",
                "SingleStack allows one family, not " + FamilyList(service.ip_families));
  }
  const std::string annotation_field = absl::StrCat("metadata.annotations[", kIpsAnnotation, "]");
  std::map<net::IpAddress, size_t> annotated;
  for (size_t i = 0; i < service.annotated_ips.size(); ++i) {
    if (!annotated.try_emplace(service.annotated_ips[i], i).second) {
      check.Error(annotation_field,
                  absl::StrCat("duplicate ", service.annotated_ips[i].ToString()));
    }
  }
  const std::set<net::IpFamily> annotated_families =
      CheckVipFamilies(service, annotation_field, service.annotated_ips, check);
  // Only the annotation can be checked for this: spec.loadBalancerIP holds
  // one address by design, and the status is written by whoever allocated.
  if (service.ip_family_policy == IpFamilyPolicy::kRequireDualStack &&
      annotated_families.size() == 1) {
    const net::IpFamily missing =
        *annotated_families.begin() == net::IpFamily::kIPv4 ? net::IpFamily::kIPv6 : net::IpFamily::kIPv4;
    check.Error(annotation_field,
                absl::StrCat("spec.ipFamilyPolicy is RequireDualStack but there is no ",
                             net::FamilyName(missing), " address"));
  }
  if (service.load_balancer_ip) {
    CheckVipFamilies(service, "spec.loadBalancerIP", {*service.load_balancer_ip}, check);
  }
  CheckVipFamilies(service, "status.loadBalancer.ingress", service.ingress_ips, check);
}

}  // namespace

std::string ValidationError::ToString() const {
  if (field.empty()) return absl::StrCat(object.ToString(), ": ", reason);
  return absl::StrCat(object.ToString(), ": ", field, ": ", reason);
}

std::vector<ValidationError> Validate(const Service& service) {
  Checker check(service.Ref());
  check.Name("metadata.name", service.metadata.name, kDns1035Label);
  check.Name("metadata.namespace", service.metadata.namespace_, kDns1123Label);
  CheckLabels(service.metadata, check);
  CheckServicePorts(service, check);
  CheckServiceFamilies(service, check);
  if (auto pool = service.metadata.annotations.find(std::string(kPoolAnnotation));
      pool != service.metadata.annotations.end() && !pool->second.empty()) {
    check.Name(absl::StrCat("metadata.annotations[", kPoolAnnotation, "]"), pool->second,
               kDns1123Subdomain);
  }
  return check.Take();
}

std::vector<ValidationError> Validate(const EndpointSlice& slice) {
  Checker check(slice.Ref());
  check.Name("metadata.name", slice.metadata.name, kDns1123Subdomain);
  check.Name("metadata.namespace", slice.metadata.namespace_, kDns1123Label);
  CheckLabels(slice.metadata, check);
  const std::string label_field = absl::StrCat("metadata.labels[", kServiceNameLabel, "]");
  if (slice.service_name.empty()) {
    check.Error(label_field, "required: it names the Service the slice belongs to");
  } else {
    check.Name(label_field, slice.service_name, kDns1035Label);
  }
  for (size_t i = 0; i < slice.endpoints.size(); ++i) {
    const Endpoint& endpoint = slice.endpoints[i];
    const std::string field = absl::StrCat("endpoints[", i, "]");
    if (endpoint.addresses.empty())
      check.Error(field + ".addresses", "required: at least one address");
    for (size_t j = 0; j < endpoint.addresses.size(); ++j) {
      const net::IpAddress& address = endpoint.addresses[j];
      if (address.family == slice.address_type) continue;
      check.Error(absl::StrCat(field, ".addresses[", j, "]"),
                  absl::StrCat(address.ToString(), " is ", net::FamilyName(address.family),
                               " but addressType is ", net::FamilyName(slice.address_type)));
    }
    if (!endpoint.node_name.empty()) {
      check.Name(field + ".nodeName", endpoint.node_name, kDns1123Subdomain);
    }
  }
  std::map<std::string, size_t> names;
  for (size_t i = 0; i < slice.ports.size(); ++i) {
    const EndpointPort& port = slice.ports[i];
    if (!port.name.empty()) {
      check.Name(absl::StrCat("ports[", i, "].name"), port.name, kDns1123Label);
    }
    check.Unique(names, port.name, "ports", i, ".name",
                 absl::StrCat("port name \"", port.name, "\""));
  }
  return check.Take();
}

std::vector<ValidationError> Validate(const Node& node) {
  Checker check(node.Ref());
  check.Name("metadata.name", node.metadata.name, kDns1123Subdomain);
  CheckLabels(node.metadata, check);
  std::map<net::IpFamily, size_t> families;
  for (size_t i = 0; i < node.pod_cidrs.size(); ++i) {
    const net::IpFamily family = node.pod_cidrs[i].address.family;
    check.Unique(families, family, "spec.podCIDRs", i, "",
                 absl::StrCat(net::FamilyName(family), " prefix (a node has at most one per family)"));
  }
  return check.Take();
}

std::vector<ValidationError> Validate(const LoadBalancerIPPool& pool) {
  Checker check(pool.Ref());
  // ValidatePool says when the name is missing.
  if (!pool.metadata.name.empty()) {
    check.Name("metadata.name", pool.metadata.name, kDns1123Subdomain);
  }
  CheckLabels(pool.metadata, check);
  check.Errors(ipam::ValidatePool(pool.spec));
  return check.Take();
}

namespace {

// A cluster-scoped object of Ferry's whose spec is checked by `validate`.
template <typename T, typename Spec>
std::vector<ValidationError> ValidateFerryObject(const T& object,
                                                 std::vector<net::FieldError> (*validate)(const Spec&)) {
  Checker check(object.Ref());
  check.Name("metadata.name", object.metadata.name, kDns1123Subdomain);
  CheckLabels(object.metadata, check);
  check.Errors(validate(object.spec));
  return check.Take();
}

}  // namespace

std::vector<ValidationError> Validate(const L2AnnouncementPolicy& policy) {
  return ValidateFerryObject(policy, &l2announce::Validate);
}

std::vector<ValidationError> Validate(const BgpPeer& peer) {
  return ValidateFerryObject(peer, &ValidateBgpPeerSpec);
}

std::vector<ValidationError> Validate(const BgpAdvertisement& advertisement) {
  return ValidateFerryObject(advertisement, &ValidateBgpAdvertisementSpec);
}

std::vector<ValidationError> Validate(const Object& object) {
  return std::visit([](const auto& typed) { return Validate(typed); }, object);
}

}  // namespace ferry::model
