#include "test/bpf/lb_fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ferry_tc_pod.skel.h"
#include "ferry_tc_uplink.skel.h"
#include "ferry_xdp.skel.h"
#include "test/packet/decoder.h"

namespace ferry::bpftest {
namespace {

constexpr uint32_t kDefaultSeed = 0x5eed;
constexpr uint16_t kDefaultTunnelMtu = 1500;
// Room for the largest frame a test sends plus the headers a program adds.
constexpr size_t kOutputRoom = 9216;

#define FERRY_NAME_ITEM(name, text) text,
constexpr const char* kDropNames[] = {FERRY_DROP_REASONS(FERRY_NAME_ITEM)};
constexpr const char* kEventNames[] = {FERRY_EVENTS(FERRY_NAME_ITEM)};
#undef FERRY_NAME_ITEM

std::string Errno(int rc) { return std::strerror(rc < 0 ? -rc : errno); }

}  // namespace

ferry_flow_key FlowKey(const IpAddress& src, const IpAddress& dst, uint16_t sport, uint16_t dport,
                       uint8_t proto) {
  ferry_flow_key key = {};
  key.src = src.ToFerry();
  key.dst = dst.ToFerry();
  key.sport = htons(sport);
  key.dport = htons(dport);
  key.proto = proto;
  key.family = src.ferry_family();
  return key;
}

void LbFixture::SetUp() {
  xdp_ = ferry_xdp__open();
  tc_uplink_ = ferry_tc_uplink__open();
  tc_pod_ = ferry_tc_pod__open();
  ASSERT_TRUE(xdp_ && tc_uplink_ && tc_pod_) << "opening the datapath objects: " << Errno(-errno);
  // Tests never pin: each gets private maps that vanish with the objects.
  // The XDP object makes them and the TC objects reuse them, as they reuse
  // the XDP object's pins in the agent.
  bpf_map* map;
  for (bpf_object* object : {xdp_->obj, tc_uplink_->obj, tc_pod_->obj}) {
    bpf_object__for_each_map(map, object) { ASSERT_EQ(bpf_map__set_pin_path(map, nullptr), 0); }
  }
  int rc = ferry_xdp__load(xdp_);
  ASSERT_EQ(rc, 0) << "loading ferry_xdp: " << Errno(rc);
  for (bpf_object* object : {tc_uplink_->obj, tc_pod_->obj}) {
    bpf_object__for_each_map(map, object) {
      const int shared = bpf_object__find_map_fd_by_name(xdp_->obj, bpf_map__name(map));
      ASSERT_GE(shared, 0) << "ferry_xdp has no map " << bpf_map__name(map);
      ASSERT_EQ(bpf_map__reuse_fd(map, shared), 0) << bpf_map__name(map);
    }
    rc = bpf_object__load(object);
    ASSERT_EQ(rc, 0) << "loading " << bpf_object__name(object) << ": " << Errno(rc);
  }
  absl::StatusOr<datapath::LbMaps> maps = datapath::LbMaps::FromObject(xdp_->obj);
  ASSERT_TRUE(maps.ok()) << maps.status();
  maps_.emplace(*std::move(maps));
  ferry_config config = {};
  config.flow_hash_seed = kDefaultSeed;
  config.tunnel_mtu = kDefaultTunnelMtu;
  SetConfig(config);
}

void LbFixture::TearDown() {
  maps_.reset();
  ferry_tc_pod__destroy(tc_pod_);
  ferry_tc_uplink__destroy(tc_uplink_);
  ferry_xdp__destroy(xdp_);
  tc_pod_ = nullptr;
  tc_uplink_ = nullptr;
  xdp_ = nullptr;
}

void LbFixture::Update(int map_fd, const void* key, const void* value, const char* what) {
  const int rc = bpf_map_update_elem(map_fd, key, value, BPF_ANY);
  ASSERT_EQ(rc, 0) << "writing " << what << ": " << Errno(rc);
}

void LbFixture::SetConfig(const ferry_config& config) {
  const uint32_t key = 0;
  Update(bpf_map__fd(xdp_->maps.config), &key, &config, "config");
}

ferry_config LbFixture::Config() const {
  const uint32_t key = 0;
  ferry_config config = {};
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(xdp_->maps.config), &key, &config), 0);
  return config;
}

void LbFixture::SetNode(uint32_t node_id, const NodeSpec& spec) {
  ferry_node node = {};
  node.tunnel_dst = spec.tunnel_dst.ToFerry();
  node.tunnel_src = spec.tunnel_src.ToFerry();
  std::memcpy(node.next_hop_mac, spec.next_hop_mac.bytes.data(), 6);
  std::memcpy(node.source_mac, spec.source_mac.bytes.data(), 6);
  node.egress_ifindex = spec.egress_ifindex;
  node.family = spec.tunnel_dst.ferry_family();
  node.flags = spec.flags;
  Update(bpf_map__fd(xdp_->maps.nodes), &node_id, &node, "nodes");
}

void LbFixture::SetBackend(uint32_t backend_id, const BackendSpec& spec) {
  ferry_backend backend = {};
  backend.addr = spec.addr.ToFerry();
  backend.port = htons(spec.port);
  backend.family = spec.addr.ferry_family();
  backend.flags = spec.active ? FERRY_BACKEND_ACTIVE : 0;
  backend.node_id = spec.node_id;
  Update(bpf_map__fd(xdp_->maps.backends), &backend_id, &backend, "backends");
}

void LbFixture::SetFrontend(const IpAddress& vip, uint16_t port, uint8_t proto, uint32_t service_id,
                            uint32_t maglev_size) {
  ferry_frontend_key key = {};
  key.vip = vip.ToFerry();
  key.port = htons(port);
  key.proto = proto;
  key.family = vip.ferry_family();
  const ferry_frontend frontend = {.service_id = service_id, .maglev_size = maglev_size};
  const absl::Status status = maps_->UpsertFrontend(key, frontend);
  ASSERT_TRUE(status.ok()) << status;
}

void LbFixture::SetMaglevTable(uint32_t service_id, std::span<const uint32_t> backend_ids) {
  const absl::Status status = maps_->SetMaglevTable(service_id, backend_ids);
  ASSERT_TRUE(status.ok()) << status;
}

void LbFixture::SetEndpoint(const IpAddress& pod, const EndpointSpec& spec) {
  const ferry_addr_key key = pod.ToFerryKey();
  ferry_endpoint endpoint = {};
  endpoint.ifindex = spec.ifindex;
  std::memcpy(endpoint.pod_mac, spec.pod_mac.bytes.data(), 6);
  std::memcpy(endpoint.host_mac, spec.host_mac.bytes.data(), 6);
  Update(bpf_map__fd(xdp_->maps.endpoints), &key, &endpoint, "endpoints");
}

void LbFixture::SetRevNat(const ferry_flow_key& reply, const IpAddress& vip, uint16_t vport) {
  ferry_rev_nat value = {};
  value.vip = vip.ToFerry();
  value.vport = htons(vport);
  Update(bpf_map__fd(xdp_->maps.rev_nat), &reply, &value, "rev_nat");
}

RunResult LbFixture::Run(const bpf_program* program, const Bytes& frame, uint32_t ifindex) const {
  RunResult result;
  result.output.resize(frame.size() + kOutputRoom);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = result.output.data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(result.output.size()), .repeat = 1);
  __sk_buff skb_context = {};
  xdp_md xdp_context = {};
  if (ifindex != 0 && bpf_program__type(program) == BPF_PROG_TYPE_XDP) {
    xdp_context.data_end = static_cast<uint32_t>(frame.size());
    xdp_context.ingress_ifindex = ifindex;
    opts.ctx_in = &xdp_context;
    opts.ctx_size_in = sizeof(xdp_context);
  } else if (ifindex != 0) {
    skb_context.ifindex = ifindex;
    opts.ctx_in = &skb_context;
    opts.ctx_size_in = sizeof(skb_context);
  }
  const int rc = bpf_prog_test_run_opts(bpf_program__fd(program), &opts);
  EXPECT_EQ(rc, 0) << "BPF_PROG_TEST_RUN of " << bpf_program__name(program) << ": " << Errno(rc);
  if (rc != 0) return RunResult{};
  result.verdict = static_cast<int>(opts.retval);
  result.output.resize(opts.data_size_out);
  return result;
}

RunResult LbFixture::RunXdp(const Bytes& frame) const { return Run(xdp_->progs.ferry_xdp_lb, frame); }

RunResult LbFixture::RunXdpOn(const Bytes& frame, uint32_t ifindex) const {
  return Run(xdp_->progs.ferry_xdp_lb, frame, ifindex);
}

RunResult LbFixture::RunTcUplink(const Bytes& frame) const {
  return Run(tc_uplink_->progs.ferry_tc_uplink, frame);
}

RunResult LbFixture::RunTcUplinkOn(const Bytes& frame, uint32_t ifindex) const {
  return Run(tc_uplink_->progs.ferry_tc_uplink, frame, ifindex);
}

RunResult LbFixture::RunTcPod(const Bytes& frame) const { return Run(tc_pod_->progs.ferry_tc_pod, frame); }

uint64_t LbFixture::SumPerCpu(int map_fd, uint32_t key) const {
  std::vector<uint64_t> per_cpu(libbpf_num_possible_cpus());
  EXPECT_EQ(bpf_map_lookup_elem(map_fd, &key, per_cpu.data()), 0);
  uint64_t sum = 0;
  for (uint64_t value : per_cpu) sum += value;
  return sum;
}

uint64_t LbFixture::Drops(ferry_drop_reason reason) const {
  return SumPerCpu(bpf_map__fd(xdp_->maps.drops), reason);
}

uint64_t LbFixture::Events(ferry_event event) const {
  return SumPerCpu(bpf_map__fd(xdp_->maps.events), event);
}

ferry_service_stats LbFixture::ServiceStats(uint32_t service_id) const {
  std::vector<ferry_service_stats> per_cpu(libbpf_num_possible_cpus());
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(xdp_->maps.service_stats), &service_id, per_cpu.data()), 0);
  ferry_service_stats sum = {};
  for (const ferry_service_stats& stats : per_cpu) {
    sum.packets += stats.packets;
    sum.bytes += stats.bytes;
  }
  return sum;
}

std::optional<ferry_flow> LbFixture::Flow(const ferry_flow_key& key) const {
  ferry_flow flow = {};
  if (bpf_map_lookup_elem(bpf_map__fd(xdp_->maps.flows), &key, &flow) != 0) return std::nullopt;
  return flow;
}

std::optional<ferry_rev_nat> LbFixture::RevNat(const ferry_flow_key& reply) const {
  ferry_rev_nat value = {};
  if (bpf_map_lookup_elem(bpf_map__fd(xdp_->maps.rev_nat), &reply, &value) != 0) return std::nullopt;
  return value;
}

std::string LbFixture::CounterSummary() const {
  std::string text = "counters:";
  for (uint32_t i = 0; i < FERRY_DROP_MAX; ++i) {
    if (const uint64_t n = Drops(static_cast<ferry_drop_reason>(i))) absl::StrAppend(&text, " drop ", kDropNames[i], "=", n);
  }
  for (uint32_t i = 0; i < FERRY_EVENT_MAX; ++i) {
    if (const uint64_t n = Events(static_cast<ferry_event>(i))) absl::StrAppend(&text, " ", kEventNames[i], "=", n);
  }
  return text;
}

void LbFixture::ExpectDropCounted(const std::function<RunResult()>& run, ferry_drop_reason reason, int verdict) {
  SCOPED_TRACE(absl::StrCat("drop reason ", kDropNames[reason]));
  std::vector<uint64_t> before(FERRY_DROP_MAX);
  for (uint32_t i = 0; i < FERRY_DROP_MAX; ++i) before[i] = Drops(static_cast<ferry_drop_reason>(i));
  EXPECT_EQ(run().verdict, verdict) << CounterSummary();
  for (uint32_t i = 0; i < FERRY_DROP_MAX; ++i) {
    EXPECT_EQ(Drops(static_cast<ferry_drop_reason>(i)), before[i] + (i == reason ? 1 : 0))
        << "drop counter " << kDropNames[i] << "; " << CounterSummary();
  }
}

void LbFixture::ExpectDropsCounted(std::span<const DropCase> cases,
                                   const std::function<RunResult(const Bytes&)>& program, int verdict) {
  for (const DropCase& c : cases) {
    SCOPED_TRACE(packet::Describe(c.input));
    ExpectDropCounted([&] { return program(c.input); }, c.reason, verdict);
  }
}

}  // namespace ferry::bpftest
