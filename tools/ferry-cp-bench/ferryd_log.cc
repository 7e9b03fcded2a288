#include "tools/ferry-cp-bench/ferryd_log.h"

#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace ferry::cpbench {
namespace {

// agent/ferryd/agent.cc's Log(): local time, milliseconds.
std::optional<absl::Time> ParseStamp(absl::string_view stamp) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E3S", stamp, absl::LocalTimeZone(), &time, &error)) {
    return std::nullopt;
  }
  return time;
}

}  // namespace

std::optional<ReconcilePass> ParseReconcileLine(absl::string_view line) {
  static const std::regex kLine(
      R"(^(\S+) ferryd: reconcile \(([^)]*)\): (\d+) service ports, [^;]*; (\d+) writes \((.*)\) in (\S+)$)");
  std::cmatch match;
  if (!std::regex_match(line.begin(), line.end(), match, kLine)) return std::nullopt;
  ReconcilePass pass;
  std::optional<absl::Time> logged = ParseStamp(match.str(1));
  if (!logged || !absl::SimpleAtoi(match.str(3), &pass.service_ports) ||
      !absl::SimpleAtoi(match.str(4), &pass.writes) ||
      !absl::ParseDuration(match.str(6), &pass.took)) {
    return std::nullopt;
  }
  pass.logged = *logged;
  pass.trigger = match.str(2);
  for (absl::string_view item : absl::StrSplit(match.str(5), ' ', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kind_count = absl::StrSplit(item, '=');
    int count = 0;
    // "none": a pass that wrote nothing.
    if (absl::SimpleAtoi(kind_count.second, &count)) {
      pass.writes_by_kind[std::string(kind_count.first)] = count;
    }
  }
  return pass;
}

std::vector<ReconcilePass> ReconcilePasses(absl::string_view log) {
  std::vector<ReconcilePass> passes;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (std::optional<ReconcilePass> pass = ParseReconcileLine(line)) passes.push_back(*pass);
  }
  return passes;
}

std::optional<absl::Time> FirstLoggedAt(absl::string_view log, absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (line.find(text) == absl::string_view::npos) continue;
    return ParseStamp(line.substr(0, line.find(' ')));
  }
  return std::nullopt;
}

}  // namespace ferry::cpbench
