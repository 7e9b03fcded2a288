// Printable names of the drop reasons and events, generated from the
// X-macros in layout.h so the list cannot drift from the datapath's enums.
#ifndef FERRY_AGENT_DATAPATH_NAMES_H_
#define FERRY_AGENT_DATAPATH_NAMES_H_

#include <span>
#include "absl/strings/string_view.h"

namespace ferry::datapath {

// Indexed by enum ferry_drop_reason; size FERRY_DROP_MAX.
std::span<const absl::string_view> DropReasonNames();
// Indexed by enum ferry_event; size FERRY_EVENT_MAX.
std::span<const absl::string_view> EventNames();

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_NAMES_H_
