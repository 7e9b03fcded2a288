#include "agent/datapath/names.h"

#include "layout.h"

namespace ferry::datapath {
namespace {

#define FERRY_NAME_ITEM(name, text) absl::string_view(text),
constexpr absl::string_view kDropReasonNames[] = {FERRY_DROP_REASONS(FERRY_NAME_ITEM)};
constexpr absl::string_view kEventNames[] = {FERRY_EVENTS(FERRY_NAME_ITEM)};
#undef FERRY_NAME_ITEM

static_assert(std::size(kDropReasonNames) == FERRY_DROP_MAX);
static_assert(std::size(kEventNames) == FERRY_EVENT_MAX);

}  // namespace

std::span<const absl::string_view> DropReasonNames() { return kDropReasonNames; }
std::span<const absl::string_view> EventNames() { return kEventNames; }

}  // namespace ferry::datapath
