// What ferryctl shows, as plain values: read from the maps by snapshot.h,
// printed by format.h. Addresses are text, ports host order.
#ifndef FERRY_TOOLS_FERRYCTL_ROWS_H_
#define FERRY_TOOLS_FERRYCTL_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::ctl {

// A node as a person knows it: its tunnel address, or why there is none.
struct NodeRef {
  uint32_t id = 0;
  std::string address;  // empty when the node is not in the nodes map
  bool local = false;
};

struct BackendRow {
  uint32_t id = 0;
  bool known = false;  // false: in the Maglev table but not in backends
  std::string address;
  uint16_t port = 0;
  NodeRef node;
  uint32_t slots = 0;  // of the service's Maglev table
};

struct FrontendRow {
  std::string vip;
  uint16_t port = 0;
  std::string protocol;
  std::string family;  // "ipv4" or "ipv6"
  uint32_t service_id = 0;
  uint32_t maglev_size = 0;
  uint32_t table_slots = 0;  // 0: the service has no Maglev table
  uint64_t packets = 0;
  uint64_t bytes = 0;
  std::vector<BackendRow> backends;  // most slots first
};

struct FlowRow {
  std::string client;
  uint16_t client_port = 0;
  std::string vip;
  uint16_t vip_port = 0;
  std::string protocol;
  std::string family;
  BackendRow backend;  // slots unused
  uint64_t age_ns = 0;
};

struct CounterRow {
  std::string name;
  uint64_t count = 0;
};

struct Counters {
  std::vector<CounterRow> drops;
  std::vector<CounterRow> events;
};

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_ROWS_H_
