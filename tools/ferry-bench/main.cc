// ferry-bench: the datapath's per-packet cost by BPF_PROG_TEST_RUN, as
// nanoseconds and as a multiple of a minimal XDP program measured in the
// same run (DESIGN.md §8). Needs root; touches no interface: it runs in a
// network namespace of its own that disappears with the process.
#include <net/if.h>
#include <sched.h>
#include <sys/utsname.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/maglev/maglev.h"
#include "tools/ferry-bench/bench.h"
#include "tools/ferry-bench/harness.h"
#include "tools/ferry-bench/report.h"
#include "tools/ferry-bench/scenario.h"

namespace ferry::bench {
namespace {

constexpr absl::string_view kUsage =
    "usage: ferry-bench [--json] [--repeat N] [--runs N] [--flow-table-size N]\n"
    "                   [--maglev-size M] [--check-targets]\n"
    "  --repeat N           iterations per test run (default 50000)\n"
    "  --runs N             test runs per case, the median is reported (default 7)\n"
    "  --flow-table-size N  entries of the flows map (default 262144, the datapath's)\n"
    "  --maglev-size M      Maglev table size, a prime (default 16381)\n"
    "  --check-targets      exit 2 when a case misses its target ratio\n"
    "exit status: 0 measured, 1 error or a case took the wrong path, 2 target missed\n";

struct Flags {
  bool json = false;
  bool check_targets = false;
  Options options;
  uint32_t flow_table_size = 262144;
  uint32_t maglev_size = maglev::kDefaultTableSize;
};

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--json") {
      flags.json = true;
    } else if (arg == "--check-targets") {
      flags.check_targets = true;
    } else if (arg == "--repeat" || arg == "--runs" || arg == "--flow-table-size" ||
               arg == "--maglev-size") {
      uint32_t value = 0;
      if (i + 1 == argc || !absl::SimpleAtoi(argv[i + 1], &value) || value == 0) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a positive integer"));
      }
      ++i;
      if (arg == "--repeat") flags.options.repeat = value;
      if (arg == "--runs") flags.options.runs = value;
      if (arg == "--flow-table-size") flags.flow_table_size = value;
      if (arg == "--maglev-size") flags.maglev_size = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument ", arg));
    }
  }
  return flags;
}

// Per-CPU LRU lists and the test run's timer are per CPU: every run must
// use the same one.
absl::StatusOr<int> PinToCurrentCpu() {
  const int cpu = sched_getcpu();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set) != 0) {
    return absl::ErrnoToStatus(errno, "pinning to one CPU");
  }
  return cpu;
}

std::string KernelRelease() {
  utsname name{};
  return uname(&name) == 0 ? name.release : "unknown";
}

int Main(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "ferry-bench: " << flags.status().message() << "\n" << kUsage;
    return 1;
  }
  auto fail = [](const absl::Status& status) {
    std::cerr << "ferry-bench: " << status << "\n";
    return 1;
  };
  // Test runs arrive on the loopback device of the caller's namespace; the
  // bench's nodes egress there, so the datapath answers XDP_TX.
  if (unshare(CLONE_NEWNET) != 0) {
    return fail(absl::ErrnoToStatus(errno, "creating a network namespace (needs root)"));
  }
  const uint32_t loopback = if_nametoindex("lo");
  absl::StatusOr<int> cpu = PinToCurrentCpu();
  if (!cpu.ok()) return fail(cpu.status());

  absl::StatusOr<std::unique_ptr<Harness>> harness = Harness::Load(flags->flow_table_size);
  if (!harness.ok()) return fail(harness.status());
  if (absl::Status status = ProgramServices((*harness)->maps(), loopback, flags->maglev_size);
      !status.ok()) {
    return fail(status);
  }
  const Packets packets = MakePackets();
  absl::StatusOr<Results> results = RunAll(**harness, packets, flags->options);
  if (!results.ok()) return fail(results.status());

  const Setup setup = {.kernel = KernelRelease(),
                       .cpu = *cpu,
                       .runs = flags->options.runs,
                       .maglev_size = flags->maglev_size,
                       .flow_table_size = flags->flow_table_size,
                       .flow_entries_per_cpu = (*harness)->EntriesPerCpu()};
  if (flags->json) {
    std::cout << ToJson(setup, *results).dump(2) << "\n";
  } else {
    std::cout << FormatTable(setup, *results);
  }
  return flags->check_targets && !AllTargetsMet(*results) ? 2 : 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) { return ferry::bench::Main(argc, argv); }
