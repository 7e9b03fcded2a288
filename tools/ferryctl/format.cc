#include "tools/ferryctl/format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/ferryctl/table.h"

namespace ferry::ctl {
namespace {

std::string NodeText(const NodeRef& node) {
  if (node.address.empty()) return absl::StrCat("? (node ", node.id, " unknown)");
  return node.local ? absl::StrCat(node.address, " (local)") : node.address;
}

std::string BackendText(const BackendRow& backend) {
  if (!backend.known) return absl::StrCat("? (backend ", backend.id, " unknown)");
  return JoinHostPort(backend.address, backend.port);
}

nlohmann::json BackendJson(const BackendRow& backend) {
  nlohmann::json json = {{"backend_id", backend.id}, {"known", backend.known}};
  if (backend.known) {
    json["address"] = backend.address;
    json["port"] = backend.port;
    json["node_id"] = backend.node.id;
    json["node"] = backend.node.address;  // empty: not in the nodes map
    json["node_local"] = backend.node.local;
  }
  return json;
}

double Share(uint32_t slots, uint32_t table_slots) {
  return table_slots == 0 ? 0.0 : static_cast<double>(slots) / table_slots;
}

std::vector<const CounterRow*> Shown(const std::vector<CounterRow>& rows, bool include_zero) {
  std::vector<const CounterRow*> shown;
  for (const CounterRow& row : rows) {
    if (include_zero || row.count != 0) shown.push_back(&row);
  }
  return shown;
}

}  // namespace

std::string FormatDuration(uint64_t ns) {
  const uint64_t ms = ns / 1'000'000;
  const uint64_t s = ms / 1000;
  if (s == 0) return absl::StrCat(ms, "ms");
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60);
  return absl::StrFormat("%dd%02dh", s / 86400, s / 3600 % 24);
}

std::string JoinHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string LbTable(std::span<const FrontendRow> frontends) {
  Table table({"VIP", "PORT/PROTO", "SERVICE", "MAGLEV", "PACKETS", "BYTES", "BACKEND", "NODE",
               "SLOTS", "SHARE"});
  for (const FrontendRow& frontend : frontends) {
    std::vector<std::string> service = {
        frontend.vip, absl::StrCat(frontend.port, "/", frontend.protocol),
        absl::StrCat(frontend.service_id), absl::StrCat(frontend.maglev_size),
        absl::StrCat(frontend.packets), absl::StrCat(frontend.bytes)};
    if (frontend.backends.empty()) {
      service.push_back(frontend.table_slots == 0 ? "(no Maglev table)" : "(no backends)");
      table.AddRow(std::move(service));
      continue;
    }
    // The service's columns on its first line only; one line per backend.
    bool first = true;
    for (const BackendRow& backend : frontend.backends) {
      std::vector<std::string> cells =
          first ? service : std::vector<std::string>(service.size());
      first = false;
      cells.push_back(BackendText(backend));
      cells.push_back(backend.known ? NodeText(backend.node) : "");
      cells.push_back(absl::StrCat(backend.slots));
      cells.push_back(absl::StrFormat("%.1f%%", 100 * Share(backend.slots, frontend.table_slots)));
      table.AddRow(std::move(cells));
    }
  }
  return table.Render();
}

nlohmann::json LbJson(std::span<const FrontendRow> frontends) {
  nlohmann::json list = nlohmann::json::array();
  for (const FrontendRow& frontend : frontends) {
    nlohmann::json backends = nlohmann::json::array();
    for (const BackendRow& backend : frontend.backends) {
      nlohmann::json json = BackendJson(backend);
      json["slots"] = backend.slots;
      json["share"] = Share(backend.slots, frontend.table_slots);
      backends.push_back(std::move(json));
    }
    list.push_back({{"vip", frontend.vip},
                    {"port", frontend.port},
                    {"protocol", frontend.protocol},
                    {"family", frontend.family},
                    {"service_id", frontend.service_id},
                    {"maglev_size", frontend.maglev_size},
                    {"table_slots", frontend.table_slots},
                    {"packets", frontend.packets},
                    {"bytes", frontend.bytes},
                    {"backends", std::move(backends)}});
  }
  return {{"frontends", std::move(list)}};
}

std::string FlowTable(std::span<const FlowRow> flows) {
  Table table({"CLIENT", "VIP", "PROTO", "BACKEND", "NODE", "AGE"});
  for (const FlowRow& flow : flows) {
    table.AddRow({JoinHostPort(flow.client, flow.client_port), JoinHostPort(flow.vip, flow.vip_port),
                  flow.protocol, BackendText(flow.backend),
                  flow.backend.known ? NodeText(flow.backend.node) : "",
                  FormatDuration(flow.age_ns)});
  }
  return table.Render();
}

nlohmann::json FlowJson(std::span<const FlowRow> flows) {
  nlohmann::json list = nlohmann::json::array();
  for (const FlowRow& flow : flows) {
    list.push_back({{"client", flow.client},
                    {"client_port", flow.client_port},
                    {"vip", flow.vip},
                    {"vip_port", flow.vip_port},
                    {"protocol", flow.protocol},
                    {"family", flow.family},
                    {"backend", BackendJson(flow.backend)},
                    {"age_ns", flow.age_ns}});
  }
  return {{"flows", std::move(list)}};
}

std::string CounterTable(const Counters& counters, bool include_zero) {
  Table table({"KIND", "NAME", "COUNT"});
  for (const auto& [kind, rows] : {std::pair{"drop", &counters.drops},
                                   std::pair{"event", &counters.events}}) {
    for (const CounterRow* row : Shown(*rows, include_zero)) {
      table.AddRow({kind, row->name, absl::StrCat(row->count)});
    }
  }
  return table.Render();
}

nlohmann::json CounterJson(const Counters& counters, bool include_zero) {
  nlohmann::json json = {{"drops", nlohmann::json::array()}, {"events", nlohmann::json::array()}};
  for (const CounterRow* row : Shown(counters.drops, include_zero)) {
    json["drops"].push_back({{"reason", row->name}, {"count", row->count}});
  }
  for (const CounterRow* row : Shown(counters.events, include_zero)) {
    json["events"].push_back({{"event", row->name}, {"count", row->count}});
  }
  return json;
}

}  // namespace ferry::ctl
