// Values every version of Ferry must compute alike. During a rolling
// upgrade nodes of two versions serve one Service side by side: each must
// hash a flow to the same Maglev slot and build the same table, or a flow
// that ECMP moves between them changes backend. The constants were taken
// from the code as it was when they were written, which is the reference: a
// change that alters any of them breaks upgrades and needs a plan for them
// (a versioned seed, both tables during the transition), not new constants.
#ifndef FERRY_AGENT_MAGLEV_GOLDEN_H_
#define FERRY_AGENT_MAGLEV_GOLDEN_H_

#include <cstdint>

namespace ferry::maglev::golden {

// ferry_flow_hash (bpf/lib/flow_hash.h) of a flow key as the datapath
// fills it from a packet from `client` to `vip`.
struct Flow {
  const char* client;
  const char* vip;
  uint16_t client_port;
  uint16_t vip_port;
  uint8_t protocol;  // IPPROTO_TCP or IPPROTO_UDP
  uint32_t seed;     // ferry_config.flow_hash_seed
  uint32_t hash;
};

inline constexpr Flow kFlows[] = {
    // ferryd's default seed (kDefaultFlowHashSeed)
    {"198.18.100.1", "198.19.0.10", 40000, 80, 6, 0x5eedf00d, 0xdafd05d7},
    {"198.18.100.1", "198.19.0.10", 40001, 80, 6, 0x5eedf00d, 0x292b74e8},
    {"198.18.100.2", "198.19.0.53", 53535, 53, 17, 0, 0xf2999299},
    {"2001:db8:100::1", "2001:db8:19::10", 40000, 443, 6, 0x5eedf00d, 0x8cc61de7},
    {"2001:db8:100::7", "2001:db8:19::53", 1024, 53, 17, 0xffffffff, 0x772974bd},
};

}  // namespace ferry::maglev::golden

#endif  // FERRY_AGENT_MAGLEV_GOLDEN_H_
