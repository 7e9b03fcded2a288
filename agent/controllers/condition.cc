#include "agent/controllers/condition.h"

#include <string>

namespace ferry::ferryd {

agent::v1::Condition ConditionProto(const l2announce::Condition& condition) {
  agent::v1::Condition out;
  out.set_type(condition.type);
  out.set_status(std::string(l2announce::StatusName(condition.status)));
  out.set_reason(condition.reason);
  out.set_message(condition.message);
  return out;
}

}  // namespace ferry::ferryd
