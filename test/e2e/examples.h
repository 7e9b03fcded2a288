// deploy/examples' addresses and ports, as the agents' e2e tests and the
// demo use them.
#ifndef FERRY_TEST_E2E_EXAMPLES_H_
#define FERRY_TEST_E2E_EXAMPLES_H_

#include <cstdint>

namespace ferry::netns::examples {

// service.yaml: default/web, from the BGP-advertised pool.
inline constexpr char kWebVipV4[] = "198.19.0.10";
inline constexpr char kWebVipV6[] = "2001:db8:19::10";
// l2.yaml: default/web-lan, from the L2-announced pool on the node LAN.
inline constexpr char kLanVipV4[] = "198.18.0.200";
inline constexpr char kLanVipV6[] = "2001:db8:0:1::ff10";
// Both Services' port, and their pods' (endpoints.yaml).
inline constexpr uint16_t kVipPort = 80;
inline constexpr uint16_t kPodPort = 8080;

}  // namespace ferry::netns::examples

#endif  // FERRY_TEST_E2E_EXAMPLES_H_
