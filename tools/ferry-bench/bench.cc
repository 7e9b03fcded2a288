#include "tools/ferry-bench/bench.h"

#include <linux/bpf.h>

#include <algorithm>
#include <functional>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::bench {
namespace {

constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr double kHitTarget = 4;
constexpr double kNewFlowTarget = 10;

// One kind of packet and the path every iteration must take.
struct Case {
  std::string name;
  std::string description;
  const Bytes* packet;
  bool new_flow;                       // a fresh 5-tuple each iteration
  std::vector<ferry_event> events;     // each must grow by exactly the repeat count
  uint32_t verdict;
  size_t outer_header_bytes;           // what the encapsulation adds
  std::optional<double> target_ratio;
  bool empty_flows_each_run = false;
  // Without the wrapper: only for packets the load balancer leaves as they
  // are, to cross-check the wrapper's subtraction.
  bool direct = false;
};

double Median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

std::string VerdictName(uint32_t verdict) {
  switch (verdict) {
    case XDP_ABORTED: return "XDP_ABORTED";
    case XDP_DROP: return "XDP_DROP";
    case XDP_PASS: return "XDP_PASS";
    case XDP_TX: return "XDP_TX";
    case XDP_REDIRECT: return "XDP_REDIRECT";
  }
  return absl::StrCat("verdict ", verdict);
}

absl::Status CheckPath(const Case& c, uint32_t repeat, const PathCounters& before,
                       const PathCounters& after, const TestRun& run) {
  std::vector<std::string> problems;
  for (size_t i = 0; i < after.events.size(); ++i) {
    const uint64_t grew = after.events[i].count - before.events[i].count;
    const bool wanted = std::find(c.events.begin(), c.events.end(), i) != c.events.end();
    const uint64_t expected = wanted ? repeat : 0;
    if (grew != expected) {
      problems.push_back(
          absl::StrCat("event ", after.events[i].name, " +", grew, " (expected +", expected, ")"));
    }
  }
  for (size_t i = 0; i < after.drops.size(); ++i) {
    if (const uint64_t grew = after.drops[i].count - before.drops[i].count; grew != 0) {
      problems.push_back(absl::StrCat("drop ", after.drops[i].name, " +", grew));
    }
  }
  if (run.verdict != c.verdict) {
    problems.push_back(absl::StrCat("last verdict ", VerdictName(run.verdict), " (expected ",
                                    VerdictName(c.verdict), ")"));
  }
  const size_t expected_size = c.packet->size() + c.outer_header_bytes;
  if (run.output.size() != expected_size) {
    problems.push_back(absl::StrCat("last output ", run.output.size(), " bytes (expected ",
                                    expected_size, ")"));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(c.name, ": not every one of ", repeat,
                   " iterations took the intended path: ", absl::StrJoin(problems, "; ")));
}

// The load balancer behind the wrapper (alone for a direct case), its path
// checked.
absl::StatusOr<TestRun> RunChecked(Harness& harness, const Case& c, uint32_t repeat) {
  absl::StatusOr<PathCounters> before = harness.ReadCounters();
  if (!before.ok()) return before.status();
  absl::StatusOr<TestRun> run =
      c.direct ? harness.RunDirect(Harness::Target::kLoadBalancer, *c.packet, repeat)
               : harness.RunWrapped(Harness::Target::kLoadBalancer, *c.packet, c.new_flow, repeat);
  if (!run.ok()) return run.status();
  absl::StatusOr<PathCounters> after = harness.ReadCounters();
  if (!after.ok()) return after.status();
  if (absl::Status status = CheckPath(c, repeat, *before, *after, *run); !status.ok()) {
    return status;
  }
  return run;
}

class Runner {
 public:
  Runner(Harness& harness, const Options& options) : harness_(harness), options_(options) {}

  // Per run: the minimal program alone, the wrapper around it, then the load
  // balancer behind the wrapper. The wrapper's cost is the difference of the
  // first two medians and comes off the third.
  absl::Status Measure(const Case& c, uint32_t repeat) {
    std::vector<double> minimal, wrapped_minimal, under_test;
    for (uint32_t r = 0; r < options_.runs; ++r) {
      if (c.empty_flows_each_run) {
        if (absl::Status status = harness_.ClearFlows(); !status.ok()) return status;
      }
      absl::StatusOr<TestRun> alone =
          harness_.RunDirect(Harness::Target::kMinimal, *c.packet, repeat);
      if (!alone.ok()) return alone.status();
      minimal.push_back(alone->ns_per_packet);
      if (c.direct) {
        wrapped_minimal.push_back(alone->ns_per_packet);
      } else {
        absl::StatusOr<TestRun> wrapped =
            harness_.RunWrapped(Harness::Target::kMinimal, *c.packet, c.new_flow, repeat);
        if (!wrapped.ok()) return wrapped.status();
        if (wrapped->verdict != XDP_TX) {
          return absl::InternalError(absl::StrCat(
              c.name, ": the wrapper around the minimal program returned ",
              VerdictName(wrapped->verdict), ": it could not restore the template or tail-call"));
        }
        wrapped_minimal.push_back(wrapped->ns_per_packet);
      }
      absl::StatusOr<TestRun> lb = RunChecked(harness_, c, repeat);
      if (!lb.ok()) return lb.status();
      under_test.push_back(lb->ns_per_packet);
    }
    minimal_samples_.insert(minimal_samples_.end(), minimal.begin(), minimal.end());
    const double wrapper_ns = Median(wrapped_minimal) - Median(minimal);
    rows_.push_back({.name = c.name,
                     .description = c.description,
                     .repeat = repeat,
                     .ns = Median(under_test) - wrapper_ns,
                     .wrapper_ns = wrapper_ns,
                     .target_ratio = c.target_ratio});
    return absl::OkStatus();
  }

  // A floor: a bare program with no wrapper, `before_each` run first.
  absl::Status MeasureFloor(std::string name, std::string description, uint32_t repeat,
                            const std::function<absl::StatusOr<TestRun>(uint32_t)>& program,
                            const std::function<absl::Status()>& before_each) {
    std::vector<double> samples;
    for (uint32_t r = 0; r < options_.runs; ++r) {
      if (absl::Status status = before_each(); !status.ok()) return status;
      absl::StatusOr<TestRun> run = program(repeat);
      if (!run.ok()) return run.status();
      samples.push_back(run->ns_per_packet);
    }
    rows_.push_back({.name = std::move(name),
                     .description = std::move(description),
                     .repeat = repeat,
                     .ns = Median(samples)});
    return absl::OkStatus();
  }

  Results Finish() {
    Results results{.minimal_ns = Median(minimal_samples_), .rows = std::move(rows_)};
    for (Row& row : results.rows) row.ratio = row.ns / results.minimal_ns;
    return results;
  }

 private:
  Harness& harness_;
  const Options& options_;
  std::vector<double> minimal_samples_;
  std::vector<Row> rows_;
};

struct FamilyCases {
  Case no_vip, established, new_flow;
};

FamilyCases CasesFor(const char* family, const char* tunnel, const Bytes& no_vip,
                     const Bytes& ack, const Bytes& syn, size_t outer_header_bytes) {
  return {
      .no_vip = {.name = absl::StrCat(family, "-no-vip"),
                 .description = absl::StrCat(family, " TCP to an address that is no VIP: pass"),
                 .packet = &no_vip,
                 .new_flow = false,
                 .events = {FERRY_EVENT_PASS_NO_VIP},
                 .verdict = XDP_PASS,
                 .outer_header_bytes = 0,
                 .target_ratio = std::nullopt},
      .established = {.name = absl::StrCat(family, "-established"),
                      .description = absl::StrCat(family, " ACK of a known flow: conntrack hit, ",
                                                  tunnel, " encap, XDP_TX"),
                      .packet = &ack,
                      .new_flow = false,
                      .events = {FERRY_EVENT_FLOW_HIT, FERRY_EVENT_ENCAP_TX},
                      .verdict = XDP_TX,
                      .outer_header_bytes = outer_header_bytes,
                      .target_ratio = kHitTarget},
      .new_flow = {.name = absl::StrCat(family, "-new-flow"),
                   .description = absl::StrCat(family,
                                               " SYN of a new flow: conntrack miss, Maglev, "
                                               "conntrack insert, ",
                                               tunnel, " encap, XDP_TX"),
                   .packet = &syn,
                   .new_flow = true,
                   .events = {FERRY_EVENT_FLOW_NEW, FERRY_EVENT_ENCAP_TX},
                   .verdict = XDP_TX,
                   .outer_header_bytes = outer_header_bytes,
                   .target_ratio = kNewFlowTarget},
  };
}

// The established packet's flow, recorded by sending it once.
absl::Status Prime(Harness& harness, const Case& established) {
  Case first = established;
  first.events = {FERRY_EVENT_FLOW_NEW, FERRY_EVENT_ENCAP_TX};
  return RunChecked(harness, first, 1).status();
}

Case Renamed(Case c, absl::string_view suffix, absl::string_view note) {
  c.name = absl::StrCat(c.name, suffix);
  c.description = absl::StrCat(c.description, note);
  return c;
}

}  // namespace

absl::StatusOr<Results> RunAll(Harness& harness, const Packets& packets, const Options& options) {
  const std::vector<FamilyCases> families = {
      CasesFor("ipv4", "IPIP", packets.no_vip_v4, packets.ack_v4, packets.syn_v4, kIpv4Header),
      CasesFor("ipv6", "IP6IP6", packets.no_vip_v6, packets.ack_v6, packets.syn_v6, kIpv6Header),
  };
  // New flows on an emptied table: no more than half of this CPU's share,
  // so no insert evicts.
  const uint32_t not_full_repeat =
      std::max(1u, std::min(options.repeat, harness.EntriesPerCpu() / 2));
  const uint32_t repeat = options.repeat;
  Runner runner(harness, options);

  // In order: each step may rely on the table state the previous ones left.
  std::vector<std::function<absl::Status()>> steps;
  for (const FamilyCases& f : families) {
    steps.push_back([&] { return runner.Measure(f.no_vip, repeat); });
  }
  Case no_vip_direct =
      Renamed(families[0].no_vip, "-direct",
              " (no wrapper: checks that subtracting the wrapper's cost is right)");
  no_vip_direct.direct = true;
  steps.push_back([&] { return runner.Measure(no_vip_direct, repeat); });
  for (const FamilyCases& f : families) {
    steps.push_back([&] { return Prime(harness, f.established); });
    steps.push_back([&] { return runner.Measure(f.established, repeat); });
  }
  for (const FamilyCases& f : families) {
    steps.push_back([&] {
      Case c = f.new_flow;
      c.empty_flows_each_run = true;
      return runner.Measure(c, not_full_repeat);
    });
  }
  const auto lru_insert = [&](uint32_t n) { return harness.RunLruInsert(n); };
  const auto nothing = [] { return absl::OkStatus(); };
  steps.push_back([&] {
    return runner.MeasureFloor(
        "lru-insert", "bare insert of a new key into an LRU hash like flows, nothing else",
        not_full_repeat, lru_insert, [&] { return harness.ClearLruProbe(); });
  });
  steps.push_back([&] {
    return runner.MeasureFloor(
        "array-write",
        "bare write of a flow record to a random slot of a per-CPU array as large as flows",
        repeat, [&](uint32_t n) { return harness.RunArrayWrite(n); }, nothing);
  });

  // Fill this CPU's share of flows: from here on every new flow evicts one.
  steps.push_back([&] {
    return RunChecked(harness, families[0].new_flow, harness.flow_table_size()).status();
  });
  for (const FamilyCases& f : families) {
    steps.push_back([&] {
      return runner.Measure(
          Renamed(f.new_flow, "-ct-full", " (conntrack full: every insert evicts)"), repeat);
    });
  }
  for (const FamilyCases& f : families) {
    steps.push_back([&] { return Prime(harness, f.established); });
    steps.push_back([&] {
      return runner.Measure(Renamed(f.established, "-ct-full", " (conntrack full)"), repeat);
    });
  }
  steps.push_back([&] { return harness.RunLruInsert(harness.flow_table_size()).status(); });
  steps.push_back([&] {
    return runner.MeasureFloor("lru-insert-full",
                               "bare insert into a full LRU hash like flows: evicts each time",
                               repeat, lru_insert, nothing);
  });

  for (const std::function<absl::Status()>& step : steps) {
    if (absl::Status status = step(); !status.ok()) return status;
  }
  return runner.Finish();
}

}  // namespace ferry::bench
