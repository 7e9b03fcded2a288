// A private instance of the load-balancing object (ferry_xdp, nothing
// pinned) and the bench's wrapper object (ferry_bench), and the
// BPF_PROG_TEST_RUN calls that measure them.
#ifndef FERRY_TOOLS_FERRY_BENCH_HARNESS_H_
#define FERRY_TOOLS_FERRY_BENCH_HARNESS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/maps.h"

struct ferry_xdp;
struct ferry_bench;

namespace ferry::bench {

struct TestRun {
  uint32_t ns_per_packet = 0;  // as the kernel reports it: whole nanoseconds
  uint32_t verdict = 0;        // of the last iteration
  std::vector<uint8_t> output; // the last iteration's packet
};

// What the datapath counted: events and drops by enum ferry_event /
// ferry_drop_reason, summed over CPUs.
struct PathCounters {
  std::vector<datapath::NamedCount> events;
  std::vector<datapath::NamedCount> drops;
};

class Harness {
 public:
  // flow_table_size: entries of ferry_xdp's flows map; the bare LRU probe
  // gets the same size and flags.
  static absl::StatusOr<std::unique_ptr<Harness>> Load(uint32_t flow_table_size);
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  ~Harness();

  datapath::LbMaps& maps() { return maps_; }

  enum class Target { kLoadBalancer, kMinimal };
  // Runs `target` `repeat` times behind the restoring wrapper: every
  // iteration sees `packet`, or with new_flow_each_time a copy of it with a
  // source (address, port) no earlier iteration of this process used.
  absl::StatusOr<TestRun> RunWrapped(Target target, std::span<const uint8_t> packet,
                                     bool new_flow_each_time, uint32_t repeat);
  // `target` alone: every iteration after the first sees what the previous
  // one left (the minimal program swaps the MACs back and forth; a packet
  // the load balancer passes stays as it is).
  absl::StatusOr<TestRun> RunDirect(Target target, std::span<const uint8_t> packet,
                                    uint32_t repeat);
  // `repeat` inserts of new keys into the bare LRU probe; fails if any
  // insert failed.
  absl::StatusOr<TestRun> RunLruInsert(uint32_t repeat);
  // `repeat` writes of a flow record to random slots of a per-CPU array as
  // large as flows: what memory alone costs any table of that size.
  absl::StatusOr<TestRun> RunArrayWrite(uint32_t repeat);

  absl::StatusOr<PathCounters> ReadCounters() const;
  // Empties ferry_xdp's flows / the LRU probe, returning their entries to
  // the free lists.
  absl::Status ClearFlows();
  absl::Status ClearLruProbe();

  uint32_t flow_table_size() const { return flow_table_size_; }
  // Inserts from one CPU that fill its share of an LRU map like flows: with
  // BPF_F_NO_COMMON_LRU each CPU owns max_entries / possible CPUs entries
  // and evicts among them alone.
  uint32_t EntriesPerCpu() const { return entries_per_cpu_; }

 private:
  Harness(ferry_xdp* lb, ferry_bench* bench, datapath::LbMaps maps, uint32_t flow_table_size,
          uint32_t entries_per_cpu)
      : lb_(lb),
        bench_(bench),
        maps_(std::move(maps)),
        flow_table_size_(flow_table_size),
        entries_per_cpu_(entries_per_cpu) {}

  int ProgramFd(Target target) const;
  absl::StatusOr<TestRun> Run(int program_fd, std::span<const uint8_t> packet, uint32_t repeat);

  ferry_xdp* lb_;
  ferry_bench* bench_;
  datapath::LbMaps maps_;
  uint32_t flow_table_size_;
  uint32_t entries_per_cpu_;
};

}  // namespace ferry::bench

#endif  // FERRY_TOOLS_FERRY_BENCH_HARNESS_H_
