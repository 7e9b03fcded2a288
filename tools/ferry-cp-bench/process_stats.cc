#include "tools/ferry-cp-bench/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::cpbench {
namespace {

absl::StatusOr<std::string> ReadProcFile(pid_t pid, const char* name) {
  const std::string path = absl::StrCat("/proc/", pid, "/", name);
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": is the process gone?"));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// "VmHWM:\t  123456 kB" -> bytes.
absl::StatusOr<uint64_t> StatusKilobytes(absl::string_view status, absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, field) || !absl::ConsumePrefix(&line, ":")) continue;
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    uint64_t kilobytes = 0;
    if (words.size() == 2 && words[1] == "kB" && absl::SimpleAtoi(words[0], &kilobytes)) {
      return kilobytes * 1024;
    }
  }
  return absl::NotFoundError(absl::StrCat("no ", field, " in /proc/<pid>/status"));
}

}  // namespace

absl::StatusOr<ProcessMemory> ReadProcessMemory(pid_t pid) {
  absl::StatusOr<std::string> status = ReadProcFile(pid, "status");
  if (!status.ok()) return status.status();
  absl::StatusOr<uint64_t> peak = StatusKilobytes(*status, "VmHWM");
  if (!peak.ok()) return peak.status();
  absl::StatusOr<uint64_t> now = StatusKilobytes(*status, "VmRSS");
  if (!now.ok()) return now.status();
  return ProcessMemory{.peak_rss_bytes = *peak, .rss_bytes = *now};
}

absl::StatusOr<absl::Duration> ReadCpuTime(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadProcFile(pid, "stat");
  if (!stat.ok()) return stat.status();
  // The command name may hold spaces and parentheses: count fields from the
  // last ')'. utime and stime are fields 14 and 15, i.e. 12th and 13th after it.
  const size_t name_end = stat->rfind(')');
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(name_end + 1), ' ', absl::SkipWhitespace());
  uint64_t user = 0, system = 0;
  if (name_end == std::string::npos || fields.size() < 13 || !absl::SimpleAtoi(fields[11], &user) ||
      !absl::SimpleAtoi(fields[12], &system)) {
    return absl::InternalError(absl::StrCat("cannot parse /proc/", pid, "/stat"));
  }
  return absl::Seconds(static_cast<double>(user + system) / sysconf(_SC_CLK_TCK));
}

}  // namespace ferry::cpbench
