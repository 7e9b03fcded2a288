#include "tools/ferryctl/args.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "agent/datapath/datapath.h"

namespace ferry::ctl {
namespace {

struct Subcommand {
  const char* words;
  Command command;
};
constexpr Subcommand kSubcommands[] = {
    {"bpf lb list", Command::kLbList},
    {"bpf ct list", Command::kCtList},
    {"bpf drops", Command::kDrops},
    {"status", Command::kStatus},
    {"service list", Command::kServiceList},
    {"maglev", Command::kMaglev},
    {"ipam pools", Command::kIpamPools},
    {"ipam allocations", Command::kIpamAllocations},
    {"l2 announcements", Command::kL2Announcements},
    {"bgp peers", Command::kBgpPeers},
    {"bgp routes", Command::kBgpRoutes},
};

// maglev takes NAMESPACE/NAME after its word.
absl::Status TakeService(const std::vector<std::string>& words, Invocation& invocation) {
  if (words.size() != 2) {
    return absl::InvalidArgumentError("maglev needs one Service, as NAMESPACE/NAME");
  }
  const std::string& target = words[1];
  const size_t slash = target.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
      target.find('/', slash + 1) != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("maglev ", target, ": expected NAMESPACE/NAME, e.g. default/web"));
  }
  invocation.service_namespace = target.substr(0, slash);
  invocation.service_name = target.substr(slash + 1);
  return absl::OkStatus();
}

// The only directory under root, for a machine that runs one node's agent.
absl::StatusOr<std::string> OnlyNode(const std::filesystem::path& root) {
  std::vector<std::string> nodes;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    if (entry.is_directory()) nodes.push_back(entry.path().filename().string());
  }
  if (nodes.size() == 1) return nodes.front();
  if (nodes.empty()) {
    return absl::NotFoundError(absl::StrCat("no node's maps under ", root.string(),
                                            ": is ferryd running on this machine?"));
  }
  std::sort(nodes.begin(), nodes.end());
  return absl::InvalidArgumentError(absl::StrCat("several nodes' maps under ", root.string(),
                                                 " (", absl::StrJoin(nodes, ", "),
                                                 "): choose one with --node"));
}

absl::Status SetOutput(const std::string& value, Invocation& invocation) {
  if (value == "table") {
    invocation.output = Output::kTable;
  } else if (value == "json") {
    invocation.output = Output::kJson;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("-o ", value, ": expected 'table' or 'json'"));
  }
  return absl::OkStatus();
}

}  // namespace

bool NeedsAgent(Command command) {
  return command == Command::kStatus || command == Command::kServiceList ||
         command == Command::kMaglev || command == Command::kIpamPools ||
         command == Command::kIpamAllocations || command == Command::kL2Announcements ||
         command == Command::kBgpPeers || command == Command::kBgpRoutes;
}

std::string Usage() {
  return "usage: ferryctl [--node NAME] [--pin-dir PATH] [--socket PATH] [-o table|json] COMMAND\n"
         "\n"
         "commands that ask ferryd (its API socket):\n"
         "  status                programs attached, maps and their memory, object counts,\n"
         "                        validation errors, the last reconcile\n"
         "  service list          LoadBalancer Services: VIPs, backends, Maglev shares\n"
         "  maglev NAMESPACE/NAME the Service's Maglev tables as the datapath holds them:\n"
         "                        slots and share per backend\n"
         "  ipam pools            LoadBalancerIPPools: blocks, used/free per family, conditions\n"
         "  ipam allocations      each Service's addresses, their pool, since when, condition\n"
         "  l2 announcements      which node answers ARP/NDP for each VIP, on which interface,\n"
         "                        since when; live nodes, the fence, policy conditions\n"
         "  bgp peers             BGP sessions: state, uptime, prefixes sent/received, last error,\n"
         "                        last NOTIFICATION sent or received\n"
         "  bgp routes            the routes each peer was sent, with their attributes\n"
         "commands that read the pinned maps directly (work with ferryd stopped):\n"
         "  bpf lb list           frontends, their Maglev backends and service counters\n"
         "  bpf ct list           load-balanced flows: client, VIP, backend, age\n"
         "  bpf drops             drop reasons and events that counted something\n"
         "                        (--all: list the zeros too)\n"
         "\n"
         "--node NAME     the node (default: the only one under /sys/fs/bpf/ferry)\n"
         "--pin-dir PATH  the maps pinned in PATH (default /sys/fs/bpf/ferry/NODE)\n"
         "--socket PATH   the agent's socket (default /run/ferry/NODE/ferryd.sock)\n"
         "-o FORMAT       table (default) or json\n";
}

absl::StatusOr<Invocation> ParseArgs(std::span<const std::string> args) {
  Invocation invocation;
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); absl::StartsWith(arg, "--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    auto take_value = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      }
      return args[++i];
    };
    if (arg == "-h" || arg == "--help") {
      invocation.command = Command::kHelp;
      return invocation;
    }
    if (arg == "--node" || arg == "--pin-dir" || arg == "--socket" || arg == "-o" ||
        arg == "--output") {
      absl::StatusOr<std::string> taken = take_value();
      if (!taken.ok()) return taken.status();
      if (arg == "--node") {
        invocation.node = *taken;
      } else if (arg == "--pin-dir") {
        invocation.pin_dir = *taken;
      } else if (arg == "--socket") {
        invocation.socket = *taken;
      } else if (absl::Status status = SetOutput(*taken, invocation); !status.ok()) {
        return status;
      }
    } else if (arg == "--all") {
      invocation.all = true;
    } else if (absl::StartsWith(arg, "-")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    } else {
      words.push_back(arg);
    }
  }
  if (!invocation.node.empty() && !invocation.pin_dir.empty()) {
    return absl::InvalidArgumentError("--node and --pin-dir exclude each other");
  }
  if (words.empty()) return invocation;  // help
  if (words.front() == "maglev") {
    if (absl::Status taken = TakeService(words, invocation); !taken.ok()) return taken;
    invocation.command = Command::kMaglev;
    return invocation;
  }
  const std::string command = absl::StrJoin(words, " ");
  for (const Subcommand& subcommand : kSubcommands) {
    if (command == subcommand.words) {
      invocation.command = subcommand.command;
      return invocation;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command '", command, "'"));
}

absl::StatusOr<std::filesystem::path> ResolvePinDir(const Invocation& invocation,
                                                    const std::filesystem::path& root) {
  if (!invocation.pin_dir.empty()) return std::filesystem::path(invocation.pin_dir);
  if (!invocation.node.empty()) {
    if (absl::StatusOr<std::filesystem::path> dir = datapath::DefaultPinDir(invocation.node);
        !dir.ok()) {
      return dir.status();
    }
    return root / invocation.node;
  }
  absl::StatusOr<std::string> node = OnlyNode(root);
  if (!node.ok()) return node.status();
  return root / *node;
}

absl::StatusOr<std::filesystem::path> ResolveSocket(const Invocation& invocation,
                                                    const std::filesystem::path& pin_root,
                                                    const std::filesystem::path& run_root) {
  if (!invocation.socket.empty()) return std::filesystem::path(invocation.socket);
  absl::StatusOr<std::string> node = invocation.node;
  if (invocation.node.empty()) node = OnlyNode(pin_root);
  if (!node.ok()) return node.status();
  if (absl::StatusOr<std::filesystem::path> valid = datapath::DefaultPinDir(*node); !valid.ok()) {
    return valid.status();
  }
  return run_root / *node / "ferryd.sock";
}

}  // namespace ferry::ctl
