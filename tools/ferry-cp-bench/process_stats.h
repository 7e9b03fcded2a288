// A running process's memory and CPU time, from /proc.
#ifndef FERRY_TOOLS_FERRY_CP_BENCH_PROCESS_STATS_H_
#define FERRY_TOOLS_FERRY_CP_BENCH_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::cpbench {

struct ProcessMemory {
  uint64_t peak_rss_bytes = 0;  // VmHWM: the most resident at any time so far
  uint64_t rss_bytes = 0;       // VmRSS: resident now
};

absl::StatusOr<ProcessMemory> ReadProcessMemory(pid_t pid);

// User plus system time used so far (/proc/<pid>/stat utime + stime).
absl::StatusOr<absl::Duration> ReadCpuTime(pid_t pid);

}  // namespace ferry::cpbench

#endif  // FERRY_TOOLS_FERRY_CP_BENCH_PROCESS_STATS_H_
