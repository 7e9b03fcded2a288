#include "tools/ferryctl/args.h"

#include <fstream>

#include "gtest/gtest.h"

namespace ferry::ctl {
namespace {

absl::StatusOr<Invocation> Parse(std::vector<std::string> args) { return ParseArgs(args); }

TEST(ArgsTest, ParsesSubcommandsWithFlagsAnywhere) {
  auto lb = Parse({"--node", "node1", "bpf", "lb", "-o", "json", "list"});
  ASSERT_TRUE(lb.ok()) << lb.status();
  EXPECT_EQ(lb->command, Command::kLbList);
  EXPECT_EQ(lb->node, "node1");
  EXPECT_EQ(lb->output, Output::kJson);

  auto ct = Parse({"bpf", "ct", "list", "--pin-dir=/tmp/x", "--output=table"});
  ASSERT_TRUE(ct.ok()) << ct.status();
  EXPECT_EQ(ct->command, Command::kCtList);
  EXPECT_EQ(ct->pin_dir, "/tmp/x");
  EXPECT_EQ(ct->output, Output::kTable);

  auto drops = Parse({"bpf", "drops", "--all"});
  ASSERT_TRUE(drops.ok());
  EXPECT_EQ(drops->command, Command::kDrops);
  EXPECT_TRUE(drops->all);
}

TEST(ArgsTest, AgentCommandsAndTheMaglevService) {
  auto status = Parse({"status", "--socket", "/run/x.sock"});
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->command, Command::kStatus);
  EXPECT_EQ(status->socket, "/run/x.sock");
  EXPECT_TRUE(NeedsAgent(status->command));
  EXPECT_EQ(Parse({"service", "list"})->command, Command::kServiceList);
  EXPECT_FALSE(NeedsAgent(Command::kLbList));

  auto maglev = Parse({"maglev", "-o", "json", "default/web"});
  ASSERT_TRUE(maglev.ok()) << maglev.status();
  EXPECT_EQ(maglev->command, Command::kMaglev);
  EXPECT_EQ(maglev->service_namespace, "default");
  EXPECT_EQ(maglev->service_name, "web");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"maglev"}, {"maglev", "web"}, {"maglev", "/web"}, {"maglev", "a/b/c"},
           {"maglev", "default/"}, {"maglev", "a/b", "c/d"}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Parse(args).status())) << args.back();
  }
}

TEST(ArgsTest, NothingOrHelpAsksForHelp) {
  EXPECT_EQ(Parse({})->command, Command::kHelp);
  EXPECT_EQ(Parse({"bpf", "lb", "list", "-h"})->command, Command::kHelp);
}

TEST(ArgsTest, RejectsWhatItDoesNotKnow) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"bpf", "lb"},
           {"bpf", "lb", "list", "-o", "yaml"},
           {"bpf", "lb", "list", "--frobnicate"},
           {"bpf", "lb", "list", "--node"},
           {"--node", "a", "--pin-dir", "/b", "bpf", "drops"}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Parse(args).status())) << args.back();
  }
}

class PinDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("ferryctl-args-" + std::to_string(getpid()));
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(PinDirTest, ExplicitChoicesWin) {
  Invocation invocation;
  invocation.node = "node7";
  EXPECT_EQ(ResolvePinDir(invocation, root_).value(), root_ / "node7");
  invocation = {};
  invocation.pin_dir = "/elsewhere";
  EXPECT_EQ(ResolvePinDir(invocation, root_).value(), "/elsewhere");
  invocation = {};
  invocation.node = "../etc";
  EXPECT_FALSE(ResolvePinDir(invocation, root_).ok());
}

TEST_F(PinDirTest, TheOnlyNodeIsTheDefault) {
  EXPECT_TRUE(absl::IsNotFound(ResolvePinDir({}, root_).status()));
  std::filesystem::create_directory(root_ / "node1");
  std::ofstream(root_ / "stray-file") << "x";
  EXPECT_EQ(ResolvePinDir({}, root_).value(), root_ / "node1");
  std::filesystem::create_directory(root_ / "node2");
  const absl::Status several = ResolvePinDir({}, root_).status();
  EXPECT_TRUE(absl::IsInvalidArgument(several));
  EXPECT_NE(several.message().find("node1, node2"), absl::string_view::npos) << several;
}

TEST_F(PinDirTest, TheSocketFollowsTheNode) {
  Invocation invocation;
  invocation.socket = "/s.sock";
  EXPECT_EQ(ResolveSocket(invocation, root_, "/run/ferry").value(), "/s.sock");
  invocation = {};
  invocation.node = "node7";
  EXPECT_EQ(ResolveSocket(invocation, root_, "/run/ferry").value(), "/run/ferry/node7/ferryd.sock");
  EXPECT_TRUE(absl::IsNotFound(ResolveSocket({}, root_, "/run/ferry").status()));
  std::filesystem::create_directory(root_ / "node1");
  EXPECT_EQ(ResolveSocket({}, root_, "/run/ferry").value(), "/run/ferry/node1/ferryd.sock");
  invocation.node = "../etc";
  EXPECT_FALSE(ResolveSocket(invocation, root_, "/run/ferry").ok());
}

}  // namespace
}  // namespace ferry::ctl
