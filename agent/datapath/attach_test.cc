// Attaching and replacing programs on a veth inside a namespace the test
// creates (label bpf: root, no traffic).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/testing/fixtures.h"
#include "gtest/gtest.h"

namespace ferry::datapath {
namespace {

using testing::LoadDatapath;
using testing::RunInNamespace;
using testing::ScopedPinDir;

uint32_t ProgramId(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

uint32_t XdpGenericId(int ifindex) {
  uint32_t id = 0;
  return bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) == 0 ? id : 0;
}

// The id of Ferry's TC ingress filter, 0 if there is none.
uint32_t TcIngressId(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0xfe77, .priority = 1);
  return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0;
}

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("dp-attach");
    ASSERT_TRUE(ns.ok()) << ns.status();
    netns_ = *std::move(ns);
    const absl::Status veths = netns::RunCommand(
        netns_.get(), {"sh", "-c",
                       "ip link add up0 type veth peer name up1 && "
                       "ip link set up0 up && ip link set up1 up"}).status();
    ASSERT_TRUE(veths.ok()) << veths;
    auto old_build = LoadDatapath(old_pins_.path());
    auto new_build = LoadDatapath(new_pins_.path());
    ASSERT_TRUE(old_build.ok() && new_build.ok());
    old_build_ = std::move(*old_build);
    new_build_ = std::move(*new_build);
  }

  std::unique_ptr<netns::Namespace> netns_;
  ScopedPinDir old_pins_{"dp-attach-old"};
  ScopedPinDir new_pins_{"dp-attach-new"};
  std::unique_ptr<Datapath> old_build_;
  std::unique_ptr<Datapath> new_build_;
};

uint32_t XdpNativeId(int ifindex) {
  uint32_t id = 0;
  return bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) == 0 ? id : 0;
}

// An uplink with jumbo frames takes the program natively: it is built for
// multi-buffer frames (xdp.frags), without which veth, like most drivers,
// refuses native XDP above a page-sized MTU.
TEST_F(AttachTest, XdpAttachesNativelyToAJumboFrameUplink) {
  const absl::Status jumbo = netns::RunCommand(
      netns_.get(), {"sh", "-c", "ip link set up0 mtu 9000 && ip link set up1 mtu 9000"}).status();
  ASSERT_TRUE(jumbo.ok()) << jumbo;
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    const int ifindex = if_nametoindex("up0");
    ASSERT_GT(ifindex, 0);
    std::string note;
    absl::StatusOr<XdpMode> mode = new_build_->AttachXdpPreferNative(ifindex, note);
    ASSERT_TRUE(mode.ok()) << mode.status();
    EXPECT_EQ(*mode, XdpMode::kNative) << note;
    EXPECT_EQ(XdpNativeId(ifindex), ProgramId(new_build_->ProgramFd(Program::kXdpLb)));
    EXPECT_TRUE(new_build_->DetachXdp(ifindex, XdpMode::kNative).ok());
  }).ok());
}

// A driver that refuses native XDP (a bridge has none) gets the program in
// generic mode, with a note that says why.
TEST_F(AttachTest, XdpFallsBackToGenericModeWhereTheDriverRefusesNative) {
  const absl::Status bridge =
      netns::RunCommand(netns_.get(), {"sh", "-c", "ip link add br0 type bridge && ip link set br0 up"}).status();
  ASSERT_TRUE(bridge.ok()) << bridge;
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    const int ifindex = if_nametoindex("br0");
    ASSERT_GT(ifindex, 0);
    std::string note;
    absl::StatusOr<XdpMode> mode = new_build_->AttachXdpPreferNative(ifindex, note);
    ASSERT_TRUE(mode.ok()) << mode.status();
    EXPECT_EQ(*mode, XdpMode::kGeneric);
    EXPECT_NE(note.find("generic mode"), std::string::npos) << note;
    EXPECT_NE(note.find("br0"), std::string::npos) << note;
    EXPECT_EQ(XdpGenericId(ifindex), ProgramId(new_build_->ProgramFd(Program::kXdpLb)));
    EXPECT_TRUE(new_build_->DetachXdp(ifindex, XdpMode::kGeneric).ok());
  }).ok());
}

TEST_F(AttachTest, XdpIsReplacedByANewerBuildAndDetached) {
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    const int ifindex = if_nametoindex("up0");
    ASSERT_GT(ifindex, 0);
    ASSERT_TRUE(old_build_->AttachXdp(ifindex, XdpMode::kGeneric).ok());
    EXPECT_EQ(XdpGenericId(ifindex), ProgramId(old_build_->ProgramFd(Program::kXdpLb)));
    absl::Status replaced = new_build_->AttachXdp(ifindex, XdpMode::kGeneric);
    ASSERT_TRUE(replaced.ok()) << replaced;
    EXPECT_EQ(XdpGenericId(ifindex), ProgramId(new_build_->ProgramFd(Program::kXdpLb)));
    ASSERT_TRUE(new_build_->DetachXdp(ifindex, XdpMode::kGeneric).ok());
    EXPECT_EQ(XdpGenericId(ifindex), 0u);
    EXPECT_TRUE(new_build_->DetachXdp(ifindex, XdpMode::kGeneric).ok()) << "idempotent";
  }).ok());
}

TEST_F(AttachTest, XdpLeavesSomeoneElsesProgramAlone) {
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    const int ifindex = if_nametoindex("up0");
    bpf_insn pass[2] = {};
    pass[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = XDP_PASS
    pass[0].dst_reg = BPF_REG_0;
    pass[0].imm = XDP_PASS;
    pass[1].code = BPF_JMP | BPF_EXIT;
    const int other = bpf_prog_load(BPF_PROG_TYPE_XDP, "other_xdp", "GPL", pass, 2, nullptr);
    ASSERT_GE(other, 0);
    ASSERT_EQ(bpf_xdp_attach(ifindex, other, XDP_FLAGS_SKB_MODE, nullptr), 0);
    const absl::Status status = old_build_->AttachXdp(ifindex, XdpMode::kGeneric);
    EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
    EXPECT_NE(status.message().find("other_xdp"), absl::string_view::npos) << status;
    EXPECT_FALSE(old_build_->DetachXdp(ifindex, XdpMode::kGeneric).ok());
    EXPECT_EQ(XdpGenericId(ifindex), ProgramId(other));
    bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, nullptr);
    close(other);
  }).ok());
}

TEST_F(AttachTest, TcIngressIsReplacedInPlaceAndDetached) {
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    const int ifindex = if_nametoindex("up0");
    ASSERT_TRUE(old_build_->AttachTcIngress(ifindex, Program::kTcUplink).ok());
    EXPECT_EQ(TcIngressId(ifindex), ProgramId(old_build_->ProgramFd(Program::kTcUplink)));
    absl::Status replaced = new_build_->AttachTcIngress(ifindex, Program::kTcUplink);
    ASSERT_TRUE(replaced.ok()) << replaced;
    EXPECT_EQ(TcIngressId(ifindex), ProgramId(new_build_->ProgramFd(Program::kTcUplink)));
    ASSERT_TRUE(new_build_->AttachTcIngress(ifindex, Program::kTcPod).ok());
    EXPECT_EQ(TcIngressId(ifindex), ProgramId(new_build_->ProgramFd(Program::kTcPod)));
    ASSERT_TRUE(new_build_->DetachTcIngress(ifindex).ok());
    EXPECT_EQ(TcIngressId(ifindex), 0u);
    EXPECT_TRUE(new_build_->DetachTcIngress(ifindex).ok()) << "idempotent";
    EXPECT_TRUE(absl::IsInvalidArgument(new_build_->AttachTcIngress(ifindex, Program::kXdpLb)));
  }).ok());
}

// libbpf's warnings and notices while `body` runs (its debug lines are
// left out, as its default printer leaves them out).
std::vector<std::string> LibbpfSaysDuring(absl::FunctionRef<void()> body) {
  static std::vector<std::string>* said = nullptr;
  std::vector<std::string> lines;
  said = &lines;
  const libbpf_print_fn_t previous = libbpf_set_print(
      [](enum libbpf_print_level level, const char* format, va_list args) {
        if (level == LIBBPF_DEBUG) return 0;
        char line[512];
        vsnprintf(line, sizeof(line), format, args);
        said->push_back(line);
        return 0;
      });
  body();
  libbpf_set_print(previous);
  said = nullptr;
  return lines;
}

// What an agent does on every start: load over the pinned maps, attach.
TEST_F(AttachTest, ARestartOnTheSamePinsAndInterfacesMakesLibbpfSayNothing) {
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    const int ifindex = if_nametoindex("up0");
    ASSERT_TRUE(old_build_->AttachXdp(ifindex, XdpMode::kGeneric).ok());
    ASSERT_TRUE(old_build_->AttachTcIngress(ifindex, Program::kTcUplink).ok());
    std::unique_ptr<Datapath> restarted;
    const std::vector<std::string> said = LibbpfSaysDuring([&] {
      absl::StatusOr<std::unique_ptr<Datapath>> loaded = LoadDatapath(old_pins_.path());
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      restarted = std::move(*loaded);
      EXPECT_TRUE(restarted->AttachXdp(ifindex, XdpMode::kGeneric).ok());
      EXPECT_TRUE(restarted->AttachTcIngress(ifindex, Program::kTcUplink).ok());
    });
    EXPECT_TRUE(said.empty()) << ::testing::PrintToString(said);
    EXPECT_EQ(TcIngressId(ifindex), ProgramId(restarted->ProgramFd(Program::kTcUplink)));
  }).ok());
}

TEST_F(AttachTest, TcDetachWithoutClsactIsFine) {
  ASSERT_TRUE(RunInNamespace(*netns_, [&] {
    EXPECT_TRUE(old_build_->DetachTcIngress(if_nametoindex("up1")).ok());
  }).ok());
}

}  // namespace
}  // namespace ferry::datapath
