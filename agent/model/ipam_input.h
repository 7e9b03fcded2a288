// What the allocator (ipam/) is told about a Service of the model: the
// mapping ipam/service.h describes, as a pure function.
#ifndef FERRY_AGENT_MODEL_IPAM_INPUT_H_
#define FERRY_AGENT_MODEL_IPAM_INPUT_H_

#include "agent/model/model.h"
#include "ipam/service.h"

namespace ferry::model {

// requested_ips is spec.loadBalancerIP, then the ferry.dev/ips annotation;
// sharing_key and pool are their annotations (empty when absent); an unset
// ipFamilyPolicy is SingleStack and an unknown creation time InfinitePast,
// as ipam::Service documents.
ipam::Service IpamServiceOf(const Service& service);

}  // namespace ferry::model

#endif  // FERRY_AGENT_MODEL_IPAM_INPUT_H_
