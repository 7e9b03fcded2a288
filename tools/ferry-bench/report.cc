#include "tools/ferry-bench/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::bench {

bool AllTargetsMet(const Results& results) {
  return std::all_of(results.rows.begin(), results.rows.end(),
                     [](const Row& row) { return row.meets_target(); });
}

std::string FormatTable(const Setup& setup, const Results& results) {
  std::string out = absl::StrFormat(
      "ferry_xdp_lb per packet, BPF_PROG_TEST_RUN on CPU %d, kernel %s, median of %u runs\n"
      "services: IPv4 and IPv6, %u backends each on %u remote nodes, Maglev M = %u\n"
      "flows: %u entries (%u per CPU)\n"
      "minimal XDP program (swap MACs, XDP_TX): %.0f ns\n\n",
      setup.cpu, setup.kernel, setup.runs, kBackendsPerService, kRemoteNodes, setup.maglev_size,
      setup.flow_table_size, setup.flow_entries_per_cpu, results.minimal_ns);
  size_t name_width = 4;
  for (const Row& row : results.rows) name_width = std::max(name_width, row.name.size());
  absl::StrAppendFormat(&out, "%-*s  %8s  %9s  %9s  %7s  %s\n", name_width, "case", "repeat",
                        "ns/packet", "x minimal", "wrapper", "target");
  for (const Row& row : results.rows) {
    std::string target = row.target_ratio
                             ? absl::StrFormat("<= %.0fx %s", *row.target_ratio,
                                               row.meets_target() ? "met" : "MISSED")
                             : "";
    absl::StrAppendFormat(&out, "%-*s  %8u  %9.0f  %9.2f  %7.0f  %s\n", name_width, row.name,
                          row.repeat, row.ns, row.ratio, row.wrapper_ns, target);
  }
  out += "\n";
  for (const Row& row : results.rows) {
    absl::StrAppendFormat(&out, "%-*s  %s\n", name_width, row.name, row.description);
  }
  out +=
      "\nns/packet: the kernel's whole-nanosecond average per iteration, less the restoring "
      "wrapper's own cost (column wrapper).\nlru-insert rows are the kernel's floor under a "
      "new flow; array-write is memory's floor under any flow table of that size.\n";
  return out;
}

nlohmann::json ToJson(const Setup& setup, const Results& results) {
  nlohmann::json cases = nlohmann::json::array();
  for (const Row& row : results.rows) {
    cases.push_back({
        {"name", row.name},
        {"description", row.description},
        {"repeat", row.repeat},
        {"ns", row.ns},
        {"ratio_to_minimal", row.ratio},
        {"wrapper_ns", row.wrapper_ns},
        {"target_ratio", row.target_ratio ? nlohmann::json(*row.target_ratio) : nullptr},
        {"target_met", row.target_ratio ? nlohmann::json(row.meets_target()) : nullptr},
    });
  }
  return {
      {"kernel", setup.kernel},
      {"cpu", setup.cpu},
      {"runs", setup.runs},
      {"maglev_size", setup.maglev_size},
      {"backends_per_service", kBackendsPerService},
      {"remote_nodes", kRemoteNodes},
      {"flow_table_size", setup.flow_table_size},
      {"flow_entries_per_cpu", setup.flow_entries_per_cpu},
      {"minimal_ns", results.minimal_ns},
      {"cases", cases},
      {"all_targets_met", AllTargetsMet(results)},
  };
}

}  // namespace ferry::bench
