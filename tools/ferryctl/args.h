// ferryctl's command line: a few subcommands and flags, parsed by hand (the
// flags may stand anywhere, as in kubectl).
#ifndef FERRY_TOOLS_FERRYCTL_ARGS_H_
#define FERRY_TOOLS_FERRYCTL_ARGS_H_

#include <filesystem>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace ferry::ctl {

enum class Command { kHelp, kLbList, kCtList, kDrops };
enum class Output { kTable, kJson };

struct Invocation {
  Command command = Command::kHelp;
  std::string node;     // --node
  std::string pin_dir;  // --pin-dir
  Output output = Output::kTable;
  bool all = false;  // --all: counters that are zero too
};

// args without the program name. InvalidArgument says what was wrong.
absl::StatusOr<Invocation> ParseArgs(std::span<const std::string> args);
std::string Usage();

// --pin-dir, else <root>/<--node>, else the only node directory under root.
absl::StatusOr<std::filesystem::path> ResolvePinDir(const Invocation& invocation,
                                                    const std::filesystem::path& root);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_ARGS_H_
