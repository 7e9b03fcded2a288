#include "tools/ferry-bench/harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "ferry_bench.skel.h"
#include "ferry_xdp.skel.h"

namespace ferry::bench {
namespace {

// Deletes every entry of a hash map keyed by ferry_flow_key. Keys are
// collected first: deleting while walking restarts the walk.
absl::Status ClearFlowKeyedMap(int fd, absl::string_view name) {
  std::vector<ferry_flow_key> keys;
  ferry_flow_key key{};
  const ferry_flow_key* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &key) == 0) {
    keys.push_back(key);
    previous = &keys.back();
  }
  if (errno != ENOENT) return absl::ErrnoToStatus(errno, absl::StrCat("walking ", name));
  for (const ferry_flow_key& k : keys) {
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT) {
      return absl::ErrnoToStatus(errno, absl::StrCat("deleting from ", name));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Harness>> Harness::Load(uint32_t flow_table_size) {
  std::unique_ptr<ferry_xdp, decltype(&ferry_xdp__destroy)> lb(ferry_xdp__open(), ferry_xdp__destroy);
  if (lb == nullptr) return absl::ErrnoToStatus(errno, "opening the ferry_xdp object");
  // A private instance: nothing pinned, nothing shared with a running agent.
  bpf_map* map;
  bpf_object__for_each_map(map, lb->obj) { bpf_map__set_pin_path(map, nullptr); }
  if (int err = bpf_map__set_max_entries(lb->maps.flows, flow_table_size); err != 0) {
    return absl::ErrnoToStatus(-err, absl::StrCat("sizing flows to ", flow_table_size));
  }
  if (int err = ferry_xdp__load(lb.get()); err != 0) {
    return absl::ErrnoToStatus(-err,
                               "loading the ferry_xdp object (libbpf printed the verifier log)");
  }

  std::unique_ptr<ferry_bench, decltype(&ferry_bench__destroy)> bench(ferry_bench__open(),
                                                                      ferry_bench__destroy);
  if (bench == nullptr) return absl::ErrnoToStatus(errno, "opening the ferry_bench object");
  const uint32_t flags = bpf_map__map_flags(lb->maps.flows);
  if (bpf_map__set_max_entries(bench->maps.lru_probe, flow_table_size) != 0 ||
      bpf_map__set_map_flags(bench->maps.lru_probe, flags) != 0 ||
      bpf_map__set_max_entries(bench->maps.array_probe, flow_table_size) != 0) {
    return absl::InternalError("sizing the LRU and array probes like flows");
  }
  if (int err = ferry_bench__load(bench.get()); err != 0) {
    return absl::ErrnoToStatus(-err, "loading the ferry_bench object");
  }

  absl::StatusOr<datapath::LbMaps> maps = datapath::LbMaps::FromObject(lb->obj);
  if (!maps.ok()) return maps.status();
  const int cpus = libbpf_num_possible_cpus();
  const uint32_t entries_per_cpu =
      (flags & BPF_F_NO_COMMON_LRU) && cpus > 0 ? flow_table_size / cpus : flow_table_size;
  return std::unique_ptr<Harness>(new Harness(lb.release(), bench.release(), *std::move(maps),
                                              flow_table_size, entries_per_cpu));
}

Harness::~Harness() {
  ferry_bench__destroy(bench_);
  ferry_xdp__destroy(lb_);
}

absl::StatusOr<TestRun> Harness::Run(int program_fd, std::span<const uint8_t> packet,
                                     uint32_t repeat) {
  // Room for whatever headers the program pushes in front.
  std::vector<uint8_t> output(packet.size() + 256);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = packet.data();
  opts.data_size_in = packet.size();
  opts.data_out = output.data();
  opts.data_size_out = output.size();
  opts.repeat = repeat;
  if (bpf_prog_test_run_opts(program_fd, &opts) != 0) {
    return absl::ErrnoToStatus(errno, "BPF_PROG_TEST_RUN");
  }
  output.resize(opts.data_size_out);
  return TestRun{.ns_per_packet = opts.duration, .verdict = opts.retval,
                 .output = std::move(output)};
}

absl::StatusOr<TestRun> Harness::RunWrapped(Target target, std::span<const uint8_t> packet,
                                            bool new_flow_each_time, uint32_t repeat) {
  if (packet.size() > sizeof(bench_->bss->template_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("a ", packet.size(),
                                                   "-byte packet does not fit the wrapper's ",
                                                   sizeof(bench_->bss->template_bytes),
                                                   "-byte template"));
  }
  std::copy(packet.begin(), packet.end(), bench_->bss->template_bytes);
  bench_->bss->template_len = packet.size();
  bench_->bss->vary_flow = new_flow_each_time;

  const int target_fd = ProgramFd(target);
  const uint32_t slot = 0;
  if (bpf_map_update_elem(bpf_map__fd(bench_->maps.program_under_test), &slot, &target_fd,
                          BPF_ANY) != 0) {
    return absl::ErrnoToStatus(errno, "putting the program under test in the wrapper's tail-call map");
  }
  return Run(bpf_program__fd(bench_->progs.ferry_bench_restore), packet, repeat);
}

absl::StatusOr<TestRun> Harness::RunDirect(Target target, std::span<const uint8_t> packet,
                                           uint32_t repeat) {
  return Run(ProgramFd(target), packet, repeat);
}

int Harness::ProgramFd(Target target) const {
  return target == Target::kLoadBalancer ? bpf_program__fd(lb_->progs.ferry_xdp_lb)
                                         : bpf_program__fd(bench_->progs.ferry_bench_minimal);
}

absl::StatusOr<TestRun> Harness::RunLruInsert(uint32_t repeat) {
  const uint64_t failures_before = bench_->bss->lru_insert_failures;
  const std::vector<uint8_t> frame(64, 0);
  absl::StatusOr<TestRun> run =
      Run(bpf_program__fd(bench_->progs.ferry_bench_lru_insert), frame, repeat);
  if (run.ok() && bench_->bss->lru_insert_failures != failures_before) {
    return absl::InternalError(absl::StrCat(bench_->bss->lru_insert_failures - failures_before,
                                            " of ", repeat, " LRU probe inserts failed"));
  }
  return run;
}

absl::StatusOr<TestRun> Harness::RunArrayWrite(uint32_t repeat) {
  bench_->bss->array_probe_slots = flow_table_size_;
  const std::vector<uint8_t> frame(64, 0);
  absl::StatusOr<TestRun> run =
      Run(bpf_program__fd(bench_->progs.ferry_bench_array_write), frame, repeat);
  if (run.ok() && run->verdict != XDP_PASS) {
    return absl::InternalError("a write to the array probe missed its slot");
  }
  return run;
}

absl::StatusOr<PathCounters> Harness::ReadCounters() const {
  absl::StatusOr<std::vector<datapath::NamedCount>> events = maps_.EventCounts();
  if (!events.ok()) return events.status();
  absl::StatusOr<std::vector<datapath::NamedCount>> drops = maps_.DropCounts();
  if (!drops.ok()) return drops.status();
  return PathCounters{.events = *std::move(events), .drops = *std::move(drops)};
}

absl::Status Harness::ClearFlows() {
  return ClearFlowKeyedMap(bpf_map__fd(lb_->maps.flows), "flows");
}

absl::Status Harness::ClearLruProbe() {
  return ClearFlowKeyedMap(bpf_map__fd(bench_->maps.lru_probe), "the LRU probe");
}

}  // namespace ferry::bench
