#include "tools/ferry-cp-bench/report.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace ferry::cpbench {
namespace {

// Issue 12's target for one EndpointSlice change, event to map write.
constexpr absl::Duration kChangeTarget = absl::Milliseconds(50);

std::string Mib(uint64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

std::string Seconds(absl::Duration duration) {
  return absl::StrFormat("%.3f s", absl::ToDoubleSeconds(duration));
}

std::string WritesText(const std::map<std::string, int>& writes) {
  if (writes.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [kind, count] : writes) parts.push_back(absl::StrCat(kind, "=", count));
  return absl::StrJoin(parts, " ");
}

int TotalWrites(const std::vector<ReconcilePass>& passes) {
  int writes = 0;
  for (const ReconcilePass& pass : passes) writes += pass.writes;
  return writes;
}

absl::Duration TotalTook(const std::vector<ReconcilePass>& passes) {
  absl::Duration took;
  for (const ReconcilePass& pass : passes) took += pass.took;
  return took;
}

Json PassesJson(const std::vector<ReconcilePass>& passes) {
  Json out = Json::array();
  for (const ReconcilePass& pass : passes) {
    out.push_back({{"trigger", pass.trigger},
                   {"service_ports", pass.service_ports},
                   {"writes", pass.writes},
                   {"writes_by_kind", pass.writes_by_kind},
                   {"took_seconds", absl::ToDoubleSeconds(pass.took)}});
  }
  return out;
}

// A figure only runs from the API have: "-" in the others' columns.
std::string ApiCell(const RunResult& run, std::string (*cell)(const ApiFigures&)) {
  return run.api ? cell(*run.api) : std::string("-");
}

Json ApiJson(const std::optional<ApiFigures>& api) {
  if (!api) return Json();
  return {{"objects_created", api->objects},
          {"create_seconds", absl::ToDoubleSeconds(api->create_time)},
          {"idle_window_seconds", absl::ToDoubleSeconds(api->idle_window)},
          {"idle_requests", api->idle_requests},
          {"idle_requests_per_second", api->IdleRequestsPerSecond()},
          {"idle_watches_started", api->idle_watches_started},
          {"idle_lists", api->idle_lists},
          {"idle_connections_accepted", api->idle_connections_accepted},
          {"open_watches", api->open_watches},
          {"watching_connections", api->watching_connections}};
}

Json RunJson(const RunResult& run) {
  Json maps = Json::array();
  for (const datapath::PinnedMapInfo& map : run.maps.maps) {
    maps.push_back({{"name", map.name},
                    {"type", map.type},
                    {"key_size", map.key_size},
                    {"value_size", map.value_size},
                    {"max_entries", map.max_entries},
                    {"memlock_bytes", map.memlock_bytes},
                    {"inner_maps", map.inner_maps},
                    {"inner_memlock_bytes", map.inner_memlock_bytes}});
  }
  Json changes = Json::array();
  for (const ChangeResult& change : run.changes) {
    changes.push_back({{"service", change.service},
                       {"removed", change.removed},
                       {"added", change.added},
                       {"applied_seconds", absl::ToDoubleSeconds(change.applied)},
                       {"passes", PassesJson(change.passes)},
                       {"writes_by_kind", change.writes_by_kind},
                       {"only_that_service", change.only_that_service}});
  }
  return {
      {"source", SourceName(run.source)},
      {"maglev_size", run.maglev_size},
      {"to_datapath_loaded_seconds",
       run.to_datapath_loaded ? Json(absl::ToDoubleSeconds(*run.to_datapath_loaded)) : Json()},
      {"to_first_pass_seconds", absl::ToDoubleSeconds(run.to_first_pass)},
      {"to_programmed_seconds", absl::ToDoubleSeconds(run.to_programmed)},
      {"programming_passes", PassesJson(run.programming_passes)},
      {"ferryd_cpu_to_programmed_seconds", absl::ToDoubleSeconds(run.cpu_to_programmed)},
      {"verify_seconds", absl::ToDoubleSeconds(run.verify_took)},
      {"ferryd_idle_cpu_share", run.idle_cpu_share},
      {"change_applied_median_seconds", absl::ToDoubleSeconds(run.MedianChangeApplied())},
      {"change_applied_max_seconds", absl::ToDoubleSeconds(run.MaxChangeApplied())},
      {"changes_within_target", run.MaxChangeApplied() < kChangeTarget},
      {"changes_only_touched_their_service", run.AllChangesOnlyTouchedTheirService()},
      {"changes", changes},
      {"ferryd_peak_rss_bytes", run.memory.peak_rss_bytes},
      {"ferryd_rss_bytes", run.memory.rss_bytes},
      {"maps",
       {{"total_bytes", run.maps.total_bytes},
        {"maglev_bytes", run.maps.maglev_bytes},
        {"maglev_tables", run.maps.maglev_tables},
        {"by_map", maps}}},
      {"ferryd_exit_status", run.ferryd_exit_status},
      {"api", ApiJson(run.api)},
  };
}

}  // namespace

bool ChecksPassed(const Report& report) {
  return std::all_of(report.runs.begin(), report.runs.end(), [](const RunResult& run) {
    return run.AllChangesOnlyTouchedTheirService() && run.ferryd_exit_status == 0;
  });
}

std::string FormatJson(const Report& report) {
  const ScenarioOptions& scenario = report.scenario;
  Json runs = Json::array();
  for (const RunResult& run : report.runs) runs.push_back(RunJson(run));
  const Json out = {
      {"scenario",
       {{"services", scenario.services},
        {"backends_per_service", scenario.backends_per_service},
        {"backends", static_cast<int64_t>(scenario.services) * scenario.backends_per_service},
        {"backend_nodes", scenario.nodes},
        {"families", {"IPv4"}}}},
      {"manifests", report.manifests ? Json{{"files", report.manifests->files},
                                             {"bytes", report.manifests->bytes},
                                             {"write_seconds", absl::ToDoubleSeconds(
                                                                   report.manifests->write_time)}}
                                       : Json()},
      {"runs", runs},
      {"checks_passed", ChecksPassed(report)},
  };
  return out.dump(2) + "\n";
}

std::string FormatText(const Report& report) {
  const ScenarioOptions& scenario = report.scenario;
  std::string out = absl::StrFormat(
      "ferry-cp-bench: %d services x %d backends (%d backends on %d nodes), IPv4\n",
      scenario.services, scenario.backends_per_service,
      scenario.services * scenario.backends_per_service, scenario.nodes);
  if (report.manifests) {
    absl::StrAppendFormat(&out, "manifests: %d files, %s, written in %s\n",
                          report.manifests->files, Mib(report.manifests->bytes),
                          Seconds(report.manifests->write_time));
  }
  out += "\n";

  using Cell = std::function<std::string(const RunResult&)>;
  const std::pair<const char*, Cell> rows[] = {
      {"source", [](const RunResult& r) { return SourceName(r.source); }},
      {"Maglev table size", [](const RunResult& r) { return absl::StrCat(r.maglev_size); }},
      {"objects created through the API",
       [](const RunResult& r) {
         return ApiCell(r, [](const ApiFigures& a) {
           return absl::StrCat(a.objects, " in ", Seconds(a.create_time));
         });
       }},
      {"start -> datapath loaded",
       [](const RunResult& r) {
         return r.to_datapath_loaded ? Seconds(*r.to_datapath_loaded) : std::string("?");
       }},
      {"start -> first pass begins (objects read)",
       [](const RunResult& r) { return Seconds(r.to_first_pass); }},
      {"start -> fully programmed", [](const RunResult& r) { return Seconds(r.to_programmed); }},
      {"  programming passes (ferryd's log)",
       [](const RunResult& r) {
         return absl::StrCat(r.programming_passes.size(), " in ", Seconds(TotalTook(r.programming_passes)));
       }},
      {"  writes", [](const RunResult& r) { return absl::StrCat(TotalWrites(r.programming_passes)); }},
      {"  ferryd CPU time until then", [](const RunResult& r) { return Seconds(r.cpu_to_programmed); }},
      {"one-backend change applied (median)",
       [](const RunResult& r) { return Seconds(r.MedianChangeApplied()); }},
      {"  slowest of the changes",
       [](const RunResult& r) {
         return absl::StrCat(Seconds(r.MaxChangeApplied()), " (", r.changes.size(), ")");
       }},
      {"  all within 50 ms",
       [](const RunResult& r) {
         return std::string(r.MaxChangeApplied() < kChangeTarget ? "yes" : "NO");
       }},
      {"  only that service's entries written",
       [](const RunResult& r) {
         return std::string(r.AllChangesOnlyTouchedTheirService() ? "yes" : "NO");
       }},
      {"ferryd peak RSS (VmHWM)", [](const RunResult& r) { return Mib(r.memory.peak_rss_bytes); }},
      {"ferryd RSS at the end", [](const RunResult& r) { return Mib(r.memory.rss_bytes); }},
      {"ferryd CPU while idle (of one core)",
       [](const RunResult& r) { return absl::StrFormat("%.1f%%", 100 * r.idle_cpu_share); }},
      {"API requests while idle (per second)",
       [](const RunResult& r) {
         return ApiCell(r, [](const ApiFigures& a) {
           return absl::StrFormat("%.2f (%d in %s)", a.IdleRequestsPerSecond(), a.idle_requests,
                                  Seconds(a.idle_window));
         });
       }},
      // Others: writes (lease renewals, status) and reads of one object.
      {"  watches started, lists, others",
       [](const RunResult& r) {
         return ApiCell(r, [](const ApiFigures& a) {
           return absl::StrCat(a.idle_watches_started, ", ", a.idle_lists, ", ",
                               a.idle_requests - a.idle_watches_started - a.idle_lists);
         });
       }},
      {"  open watches (on TCP connections)",
       [](const RunResult& r) {
         return ApiCell(r, [](const ApiFigures& a) {
           return absl::StrCat(a.open_watches, " (", a.watching_connections, ")");
         });
       }},
      {"kernel memory of all maps", [](const RunResult& r) { return Mib(r.maps.total_bytes); }},
      {"  Maglev tables", [](const RunResult& r) {
         return absl::StrCat(Mib(r.maps.maglev_bytes), " (", r.maps.maglev_tables, ")");
       }},
  };
  for (const auto& [label, cell] : rows) {
    absl::StrAppendFormat(&out, "%-44s", label);
    for (const RunResult& run : report.runs) absl::StrAppendFormat(&out, "  %22s", cell(run));
    out += "\n";
  }
  for (const RunResult& run : report.runs) {
    out += "\n";
    for (const ChangeResult& change : run.changes) {
      absl::StrAppendFormat(&out, "%s M=%d: %s: %s -> %s in %s; %d passes (%s) wrote: %s\n",
                            SourceName(run.source), run.maglev_size, change.service, change.removed, change.added,
                            Seconds(change.applied), change.passes.size(),
                            Seconds(TotalTook(change.passes)), WritesText(change.writes_by_kind));
    }
    absl::StrAppendFormat(&out, "%s M=%d: kernel memory by map:\n", SourceName(run.source),
                          run.maglev_size);
    std::vector<datapath::PinnedMapInfo> maps = run.maps.maps;
    std::sort(maps.begin(), maps.end(), [](const auto& a, const auto& b) {
      return a.memlock_bytes + a.inner_memlock_bytes > b.memlock_bytes + b.inner_memlock_bytes;
    });
    for (const datapath::PinnedMapInfo& map : maps) {
      absl::StrAppendFormat(&out, "  %-14s %-16s %9d entries  %12s", map.name, map.type,
                            map.max_entries, Mib(map.memlock_bytes + map.inner_memlock_bytes));
      if (map.inner_maps > 0) {
        absl::StrAppendFormat(&out, "  (%d inner maps: %s)", map.inner_maps,
                              Mib(map.inner_memlock_bytes));
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace ferry::cpbench
