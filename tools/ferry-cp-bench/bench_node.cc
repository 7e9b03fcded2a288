#include "tools/ferry-cp-bench/bench_node.h"

#include "absl/strings/str_format.h"

namespace ferry::cpbench {

absl::StatusOr<std::unique_ptr<netns::Namespace>> CreateBenchNode(const ScenarioOptions& options) {
  absl::StatusOr<std::unique_ptr<netns::Namespace>> ns = netns::Namespace::Create("cpnode");
  if (!ns.ok()) return ns.status();
  const netns::Namespace& node = **ns;
  constexpr char kPeer[] = "lan0";
  if (absl::Status added = netns::AddVethPair(node, kUplink, node, kPeer); !added.ok()) return added;
  if (absl::Status up = node.SetUp(kPeer); !up.ok()) return up;
  if (absl::Status up = node.SetUp(kUplink); !up.ok()) return up;
  if (absl::Status added = node.AddAddress(kUplink, kBenchNodeCidr); !added.ok()) return added;
  for (int k = 1; k <= options.nodes; ++k) {
    // A locally administered MAC per node: nothing answers to it, nothing
    // is sent to it.
    absl::StatusOr<std::string> added =
        node.Ip({"neigh", "add", NodeAddress(k), "lladdr", absl::StrFormat("02:00:c6:12:00:%02x", k),
                 "dev", kUplink, "nud", "permanent"});
    if (!added.ok()) return added.status();
  }
  return ns;
}

}  // namespace ferry::cpbench
