// Shorthands for the ipam tests and bench: valid pools and Services from
// a few words.
#ifndef FERRY_IPAM_IPAM_TESTING_H_
#define FERRY_IPAM_IPAM_TESTING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ipam/allocator.h"
#include "ipam/pool.h"
#include "ipam/service.h"

namespace ferry::ipam::testing {

// Aborts the test binary on a malformed literal: a bug in the test itself.
inline IpAddress Ip(absl::string_view text) { return IpAddress::Parse(text).value(); }

// Blocks written "198.19.0.0/16" or "198.18.0.200-198.18.0.210".
inline PoolSpec PoolOf(std::string name, std::vector<std::string> blocks) {
  PoolSpec spec{.name = std::move(name)};
  for (const std::string& block : blocks) {
    const size_t dash = block.find('-');
    if (dash == std::string::npos) {
      spec.blocks.push_back({.cidr = block});
    } else {
      spec.blocks.push_back({.start = block.substr(0, dash), .stop = block.substr(dash + 1)});
    }
  }
  return spec;
}

inline Pool Parsed(const PoolSpec& spec) { return ParsePool(spec).value(); }

inline Service ServiceOf(std::string namespace_, std::string name) {
  return Service{.ref = {std::move(namespace_), std::move(name)},
                 .ports = {{.port = 80, .protocol = Protocol::kTCP}}};
}

inline Service DualStack(Service service, IpFamilyPolicy policy) {
  service.ip_family_policy = policy;
  service.ip_families = {IpFamily::kIPv4, IpFamily::kIPv6};
  return service;
}

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  Allocator::Clock AsClock() {
    return [this] { return now; };
  }
};

}  // namespace ferry::ipam::testing

#endif  // FERRY_IPAM_IPAM_TESTING_H_
