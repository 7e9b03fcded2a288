#include "tools/ferryctl/args.h"

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
};

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

std::string Usage() {
  return "usage: ferryctl [--node NAME | --pin-dir PATH] [-o table|json] COMMAND\n"
         "\n"
         "Reads the datapath's pinned maps directly; works with ferryd stopped.\n"
         "\n"
         "commands:\n"
         "  bpf lb list   frontends, their Maglev backends and service counters\n"
         "  bpf ct list   load-balanced flows: client, VIP, backend, age\n"
         "  bpf drops     drop reasons and events that counted something\n"
         "                (--all: list the zeros too)\n"
         "\n"
         "--node NAME     the node's maps in /sys/fs/bpf/ferry/NAME (default: the only\n"
         "                node there)\n"
         "--pin-dir PATH  the maps pinned in PATH\n"
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
    if (arg == "--node" || arg == "--pin-dir" || arg == "-o" || arg == "--output") {
      absl::StatusOr<std::string> taken = take_value();
      if (!taken.ok()) return taken.status();
      if (arg == "--node") {
        invocation.node = *taken;
      } else if (arg == "--pin-dir") {
        invocation.pin_dir = *taken;
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
  std::vector<std::string> nodes;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    if (entry.is_directory()) nodes.push_back(entry.path().filename().string());
  }
  if (nodes.size() == 1) return root / nodes.front();
  if (nodes.empty()) {
    return absl::NotFoundError(absl::StrCat("no node's maps under ", root.string(),
                                            ": is ferryd running on this machine?"));
  }
  std::sort(nodes.begin(), nodes.end());
  return absl::InvalidArgumentError(absl::StrCat("several nodes' maps under ", root.string(),
                                                 " (", absl::StrJoin(nodes, ", "),
                                                 "): choose one with --node"));
}

}  // namespace ferry::ctl
