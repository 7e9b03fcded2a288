// ferryctl's two output forms of the same rows: an aligned table for people
// and JSON (stable field names) for scripts.
#ifndef FERRY_TOOLS_FERRYCTL_FORMAT_H_
#define FERRY_TOOLS_FERRYCTL_FORMAT_H_

#include <cstdint>
#include <span>
#include <string>

#include "nlohmann/json.hpp"
#include "tools/ferryctl/rows.h"

namespace ferry::ctl {

// "850ms", "42s", "3m07s", "5h02m", "2d03h".
std::string FormatDuration(uint64_t ns);
// "198.18.17.2:8080", "[2001:db8::5]:80".
std::string JoinHostPort(const std::string& host, uint16_t port);

std::string LbTable(std::span<const FrontendRow> frontends);
nlohmann::json LbJson(std::span<const FrontendRow> frontends);

std::string FlowTable(std::span<const FlowRow> flows);
nlohmann::json FlowJson(std::span<const FlowRow> flows);

// include_zero: also the counters that never moved.
std::string CounterTable(const Counters& counters, bool include_zero);
nlohmann::json CounterJson(const Counters& counters, bool include_zero);

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_FORMAT_H_
