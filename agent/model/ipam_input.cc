#include "agent/model/ipam_input.h"

#include <string>

namespace ferry::model {
namespace {

std::string AnnotationOf(const Service& service, absl::string_view key) {
  const auto found = service.metadata.annotations.find(std::string(key));
  return found == service.metadata.annotations.end() ? "" : found->second;
}

}  // namespace

ipam::Service IpamServiceOf(const Service& service) {
  ipam::Service result{
      .ref = {.namespace_ = service.metadata.namespace_, .name = service.metadata.name},
      .labels = service.metadata.labels,
      .load_balancer_class = service.load_balancer_class,
      .ip_family_policy = service.ip_family_policy.value_or(IpFamilyPolicy::kSingleStack),
      .ip_families = service.ip_families,
      .sharing_key = AnnotationOf(service, kSharingKeyAnnotation),
      .pool = AnnotationOf(service, kPoolAnnotation),
      .creation_timestamp = service.metadata.creation_timestamp.value_or(absl::InfinitePast()),
      .status_ips = service.ingress_ips};
  if (service.load_balancer_ip) result.requested_ips.push_back(*service.load_balancer_ip);
  result.requested_ips.insert(result.requested_ips.end(), service.annotated_ips.begin(),
                              service.annotated_ips.end());
  for (const ServicePort& port : service.ports) {
    result.ports.push_back({.port = port.port,
                            .protocol = port.protocol == Protocol::kTCP ? ipam::Protocol::kTCP
                                                                        : ipam::Protocol::kUDP});
  }
  return result;
}

}  // namespace ferry::model
