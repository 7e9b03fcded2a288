// ferryctl's command line: a few subcommands and flags, parsed by hand (the
// flags may stand anywhere, as in kubectl).
#ifndef FERRY_TOOLS_FERRYCTL_ARGS_H_
#define FERRY_TOOLS_FERRYCTL_ARGS_H_

#include <filesystem>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace ferry::ctl {

enum class Command {
  kHelp,
  kLbList,
  kCtList,
  kDrops,
  kStatus,
  kServiceList,
  kMaglev,
  kIpamPools,
  kIpamAllocations,
  kL2Announcements,
  kBgpPeers,
  kBgpRoutes,
};

// Whether a command asks the agent (over its API socket) or only reads the
// pinned maps (and so works with the agent down).
bool NeedsAgent(Command command);
enum class Output { kTable, kJson };

struct Invocation {
  Command command = Command::kHelp;
  std::string node;     // --node
  std::string pin_dir;  // --pin-dir
  std::string socket;   // --socket
  // maglev's NAMESPACE/NAME, split.
  std::string service_namespace;
  std::string service_name;
  Output output = Output::kTable;
  bool all = false;  // --all: counters that are zero too
};

// args without the program name. InvalidArgument says what was wrong.
absl::StatusOr<Invocation> ParseArgs(std::span<const std::string> args);
std::string Usage();

// --pin-dir, else <root>/<--node>, else the only node directory under root.
absl::StatusOr<std::filesystem::path> ResolvePinDir(const Invocation& invocation,
                                                    const std::filesystem::path& root);

// --socket, else <run_root>/<node>/ferryd.sock where the node is --node, or
// the only node whose maps are under pin_root.
absl::StatusOr<std::filesystem::path> ResolveSocket(const Invocation& invocation,
                                                    const std::filesystem::path& pin_root,
                                                    const std::filesystem::path& run_root);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_ARGS_H_
