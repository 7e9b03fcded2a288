#include "agent/ferryd/options.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Options> Parse(std::vector<absl::string_view> args) { return ParseOptions(args); }

std::string ErrorOf(std::vector<absl::string_view> args) {
  absl::StatusOr<Options> options = Parse(args);
  EXPECT_FALSE(options.ok());
  return options.ok() ? "" : std::string(options.status().message());
}

TEST(OptionsTest, RequiredFlagsAndDefaults) {
  absl::StatusOr<Options> options =
      Parse({"--node", "node1", "--manifests=/etc/ferry", "--uplink", "eth0"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->node, "node1");
  EXPECT_EQ(options->manifests, "/etc/ferry");
  EXPECT_EQ(options->uplink, "eth0");
  EXPECT_EQ(options->pin_dir, "/sys/fs/bpf/ferry/node1");
  EXPECT_EQ(options->state_dir, "/run/ferry/node1/state");
  EXPECT_EQ(options->api_socket, "/run/ferry/node1/ferryd.sock");
  EXPECT_EQ(options->map_sizes.backends, datapath::MapSizes{}.backends);
  EXPECT_EQ(options->maglev_size, 16381u);
  EXPECT_EQ(options->flow_hash_seed, kDefaultFlowHashSeed);
  EXPECT_FALSE(options->tunnel_mtu.has_value());
}

TEST(OptionsTest, TheKubernetesApiIsTheOtherSource) {
  absl::StatusOr<Options> options = Parse({"--node=n", "--uplink=u", "--kubeconfig=/k",
                                           "--kube-context=lab", "--namespace=ferry"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->from_api());
  EXPECT_EQ(options->kubeconfig, "/k");
  EXPECT_EQ(options->kube_context, "lab");
  EXPECT_EQ(options->kube_namespace, "ferry");
  options = Parse({"--node=n", "--uplink=u", "--in-cluster", "--api-server",
                   "https://localhost:7445"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->in_cluster);
  EXPECT_EQ(options->api_server, "https://localhost:7445");
  EXPECT_EQ(options->kube_namespace, "ferry-system");
}

TEST(OptionsTest, ExactlyOneSource) {
  EXPECT_THAT(ErrorOf({"--node=n", "--uplink=u", "--manifests=m", "--in-cluster"}),
              HasSubstr("--manifests and the Kubernetes API"));
  EXPECT_THAT(ErrorOf({"--node=n", "--uplink=u", "--kubeconfig=k", "--in-cluster"}),
              HasSubstr("--kubeconfig and --in-cluster: use one"));
  EXPECT_THAT(ErrorOf({"--node=n", "--uplink=u", "--in-cluster", "--kube-context=x"}),
              HasSubstr("--kube-context needs --kubeconfig"));
}

TEST(OptionsTest, EveryFlagIsTaken) {
  absl::StatusOr<Options> options =
      Parse({"--node=n", "--manifests=m", "--uplink=u", "--pin-dir=/p", "--state-dir=/s",
             "--api-socket=/a.sock", "--maglev-size=251", "--flow-hash-seed=0xabc",
             "--tunnel-mtu=1450", "--map-sizes=services=16384,backends=131072",
             "--bpf-object=/lib/ferry/bpf"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->pin_dir, "/p");
  EXPECT_EQ(options->state_dir, "/s");
  EXPECT_EQ(options->api_socket, "/a.sock");
  EXPECT_EQ(options->bpf_object, "/lib/ferry/bpf");
  EXPECT_EQ(options->map_sizes.services, 16384u);
  EXPECT_EQ(options->map_sizes.backends, 131072u);
  EXPECT_EQ(options->map_sizes.flows, datapath::MapSizes{}.flows) << "unnamed sizes keep defaults";
  EXPECT_EQ(options->maglev_size, 251u);
  EXPECT_EQ(options->flow_hash_seed, 0xabcu);
  EXPECT_EQ(options->tunnel_mtu, 1450);
}

TEST(OptionsTest, BadFlagsAreNamed) {
  EXPECT_EQ(ErrorOf({"--manifests", "m", "--uplink", "u"}), "--node is required");
  EXPECT_THAT(ErrorOf({"--node", "n", "--uplink", "u"}),
              HasSubstr("a source is required: --manifests, or the Kubernetes API"));
  EXPECT_EQ(ErrorOf({"--node", "n", "--manifests", "m"}), "--uplink is required");
  EXPECT_EQ(ErrorOf({"--node"}), "--node needs a value");
  EXPECT_EQ(ErrorOf({"--colour", "red"}), "unknown flag --colour");
  EXPECT_EQ(ErrorOf({"node1"}), "unexpected argument \"node1\"");
  EXPECT_EQ(ErrorOf({"--node="}), "--node is empty");
  EXPECT_THAT(ErrorOf({"--node", "../x", "--manifests", "m", "--uplink", "u", "--pin-dir", "/p"}),
              HasSubstr("--node: "));
  EXPECT_THAT(ErrorOf({"--maglev-size", "16380"}), HasSubstr("--maglev-size: "));
  EXPECT_THAT(ErrorOf({"--maglev-size", "many"}), HasSubstr("--maglev-size must be a number"));
  EXPECT_THAT(ErrorOf({"--flow-hash-seed", "0x100000000"}), HasSubstr("from 1 to 4294967295"));
  EXPECT_THAT(ErrorOf({"--tunnel-mtu", "1000"}), HasSubstr("below IPv6's minimum"));
  EXPECT_THAT(ErrorOf({"--map-sizes", "flow=10"}), HasSubstr("--map-sizes: unknown map \"flow\""));
  EXPECT_THAT(ErrorOf({"--map-sizes", "flows"}), HasSubstr("--map-sizes flows must be a number"));
  EXPECT_THAT(ErrorOf({"--map-sizes", "flows=0"}), HasSubstr("--map-sizes flows must be a number"));
  EXPECT_THAT(ErrorOf({"--map-sizes", "flows=4000000000"}), HasSubstr("--map-sizes: "));
}

TEST(OptionsTest, L2DurationsAreConfigurable) {
  absl::StatusOr<Options> options = Parse(
      {"--node=n", "--manifests=m", "--uplink=u", "--l2-interval=50ms", "--l2-dead-intervals=4",
       "--l2-restart-hold=10s", "--l2-takeover-count=5", "--l2-takeover-spacing=20ms",
       "--l2-refresh=30s", "--lease-dir=/l", "--lease-renew=15s", "--lease-duration=1m"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->l2_liveness.interval, absl::Milliseconds(50));
  EXPECT_EQ(options->l2_liveness.Hold(), absl::Milliseconds(200));
  EXPECT_EQ(options->l2_liveness.restart_hold, absl::Seconds(10));
  EXPECT_EQ(options->l2_announcements.takeover_count, 5);
  EXPECT_EQ(options->l2_announcements.takeover_spacing, absl::Milliseconds(20));
  EXPECT_EQ(options->l2_announcements.refresh_interval, absl::Seconds(30));
  EXPECT_EQ(options->lease_dir, "/l");
  EXPECT_EQ(options->node_leases.renew_interval, absl::Seconds(15));
  EXPECT_EQ(options->node_leases.duration, absl::Minutes(1));

  absl::StatusOr<Options> defaults = Parse({"--node=n", "--manifests=m", "--uplink=u"});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->l2_liveness.Hold(), absl::Milliseconds(350)) << "failover under 1 s";
  EXPECT_EQ(defaults->lease_dir, "/run/ferry/leases");
}

TEST(OptionsTest, BadL2FlagsAreNamed) {
  const std::vector<absl::string_view> base = {"--node=n", "--manifests=m", "--uplink=u"};
  auto error_with = [&](std::vector<absl::string_view> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return ErrorOf(more);
  };
  EXPECT_THAT(error_with({"--l2-interval=soon"}), HasSubstr("--l2-interval must be a duration"));
  EXPECT_THAT(error_with({"--l2-interval=-1s"}), HasSubstr("--l2-interval must be a duration"));
  EXPECT_THAT(error_with({"--l2-dead-intervals=1"}), HasSubstr("--l2-dead-intervals must be"));
  EXPECT_THAT(error_with({"--l2-restart-hold=100ms"}), HasSubstr("--l2-restart-hold"));
  EXPECT_THAT(error_with({"--lease-renew=1s"}), HasSubstr("--lease-renew, --lease-duration: "));
  EXPECT_THAT(error_with({"--l2-takeover-count=0"}), HasSubstr("--l2-takeover-count must be"));
}

TEST(OptionsTest, HealthListenTakesAnAddressOfEitherFamilyAndAPort) {
  const char* kRequired[] = {"--node=n", "--manifests=m", "--uplink=u"};
  auto parse = [&](absl::string_view flag) {
    return Parse({kRequired[0], kRequired[1], kRequired[2], flag});
  };
  EXPECT_FALSE(Parse({kRequired[0], kRequired[1], kRequired[2]})->health_listen.has_value());
  absl::StatusOr<Options> v4 = parse("--health-listen=127.0.0.1:9878");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->health_listen->address.ToString(), "127.0.0.1");
  EXPECT_EQ(v4->health_listen->port, 9878);
  absl::StatusOr<Options> v6 = parse("--health-listen=[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->health_listen->address.ToString(), "::1");
  EXPECT_EQ(v6->health_listen->port, 0);
  for (absl::string_view bad : {"--health-listen=127.0.0.1", "--health-listen=::1:9878",
                                "--health-listen=[127.0.0.1]:1", "--health-listen=1.2.3.4:65536",
                                "--health-listen=localhost:9878"}) {
    absl::StatusOr<Options> options = parse(bad);
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_THAT(options.status().message(), HasSubstr("--health-listen")) << bad;
  }
}

TEST(OptionsTest, HelpIsRecognised) {
  std::vector<absl::string_view> help = {"--node", "n", "--help"};
  EXPECT_TRUE(WantsHelp(help));
  std::vector<absl::string_view> none = {"--node", "n"};
  EXPECT_FALSE(WantsHelp(none));
  EXPECT_THAT(Usage(), HasSubstr("--maglev-size"));
}

}  // namespace
}  // namespace ferry::ferryd
