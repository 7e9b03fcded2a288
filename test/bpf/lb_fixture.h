// A test fixture that loads the datapath's objects (nothing pinned, the maps
// shared), fills the maps directly and runs packets through the programs
// with BPF_PROG_TEST_RUN. Each test gets fresh objects, so maps start empty.
#ifndef FERRY_TEST_BPF_LB_FIXTURE_H_
#define FERRY_TEST_BPF_LB_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "agent/datapath/maps.h"
#include "layout.h"
#include "test/packet/address.h"
#include "test/packet/builder.h"

struct ferry_xdp;
struct ferry_tc_uplink;
struct ferry_tc_pod;
struct bpf_program;

namespace ferry::bpftest {

using packet::Bytes;
using packet::IpAddress;
using packet::MacAddress;

inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;

// The verdicts a test run returns.
inline constexpr int kXdpDrop = 1;
inline constexpr int kXdpPass = 2;
inline constexpr int kXdpTx = 3;
inline constexpr int kXdpRedirect = 4;
inline constexpr int kTcOk = 0;
inline constexpr int kTcShot = 2;
inline constexpr int kTcRedirect = 7;

struct NodeSpec {
  IpAddress tunnel_src, tunnel_dst;
  MacAddress source_mac, next_hop_mac;
  uint32_t egress_ifindex = 0;
  uint8_t flags = 0;  // FERRY_NODE_*
};

struct BackendSpec {
  IpAddress addr;  // the pod
  uint16_t port;
  uint32_t node_id;
  bool active = true;
};

struct EndpointSpec {
  uint32_t ifindex;
  MacAddress pod_mac, host_mac;
};

// A packet and the reason it must be dropped for.
struct DropCase {
  ferry_drop_reason reason;
  Bytes input;
};

struct RunResult {
  int verdict = -1;
  Bytes output;
};

// A flow key in the datapath's layout; ports in host order.
ferry_flow_key FlowKey(const IpAddress& src, const IpAddress& dst, uint16_t sport, uint16_t dport,
                       uint8_t proto);

class LbFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Defaults: flow hash seed 0x5eed, tunnel MTU 1500, node addresses unset.
  void SetConfig(const ferry_config& config);
  ferry_config Config() const;
  void SetNode(uint32_t node_id, const NodeSpec& node);
  void SetBackend(uint32_t backend_id, const BackendSpec& backend);
  // Adds (vip, port, proto) -> service and counts the frontend in vips.
  void SetFrontend(const IpAddress& vip, uint16_t port, uint8_t proto, uint32_t service_id,
                   uint32_t maglev_size);
  // Creates the service's Maglev table (one slot per entry of backend_ids)
  // and swaps it in, replacing any previous one.
  void SetMaglevTable(uint32_t service_id, std::span<const uint32_t> backend_ids);
  void SetEndpoint(const IpAddress& pod, const EndpointSpec& endpoint);
  void SetRevNat(const ferry_flow_key& reply, const IpAddress& vip, uint16_t vport);

  RunResult RunXdp(const Bytes& frame) const;
  // As received on interface `ifindex` of the calling thread's network
  // namespace, whose MTU the program then reads.
  RunResult RunXdpOn(const Bytes& frame, uint32_t ifindex) const;
  RunResult RunTcUplink(const Bytes& frame) const;
  // As received on interface `ifindex` of the calling thread's network
  // namespace, whose FIB and neighbour table then answer the program's
  // lookups (RunTcUplink: the loopback of the test's own namespace).
  RunResult RunTcUplinkOn(const Bytes& frame, uint32_t ifindex) const;
  RunResult RunTcPod(const Bytes& frame) const;

  // Per-CPU counters summed over CPUs.
  uint64_t Drops(ferry_drop_reason reason) const;
  uint64_t Events(ferry_event event) const;
  ferry_service_stats ServiceStats(uint32_t service_id) const;
  std::optional<ferry_flow> Flow(const ferry_flow_key& key) const;
  std::optional<ferry_rev_nat> RevNat(const ferry_flow_key& reply) const;
  // Every nonzero drop and event counter, for failure messages.
  std::string CounterSummary() const;
  // Runs `run` and expects `verdict`, the counter of `reason` one higher and
  // every other drop counter unchanged: the reason a helper gave reached the
  // program's entry intact and became the hook's drop verdict there.
  void ExpectDropCounted(const std::function<RunResult()>& run, ferry_drop_reason reason, int verdict);
  // ExpectDropCounted for each case, run through `program`.
  void ExpectDropsCounted(std::span<const DropCase> cases, const std::function<RunResult(const Bytes&)>& program,
                          int verdict);

  ferry_xdp* xdp_ = nullptr;
  ferry_tc_uplink* tc_uplink_ = nullptr;
  ferry_tc_pod* tc_pod_ = nullptr;
  // Writers that keep vips and vip_filter consistent, as the agent's do.
  std::optional<datapath::LbMaps> maps_;

 private:
  RunResult Run(const bpf_program* program, const Bytes& frame, uint32_t ifindex = 0) const;
  uint64_t SumPerCpu(int map_fd, uint32_t key) const;
  void Update(int map_fd, const void* key, const void* value, const char* what);
};

}  // namespace ferry::bpftest

#endif  // FERRY_TEST_BPF_LB_FIXTURE_H_
