// The agent API's own answers (agent/api/ferry_agent.proto): its errors and
// counts, by pure code so that they are unit-tested without a server. The
// controllers make their own views (agent/controllers/*/view.h).
#ifndef FERRY_AGENT_FERRYD_API_VIEW_H_
#define FERRY_AGENT_FERRYD_API_VIEW_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "agent/api/ferry_agent.pb.h"
#include "agent/ferryd/errors_file.h"
#include "agent/lb/services.h"
#include "agent/model/model.h"

namespace ferry::ferryd {

namespace api = ::ferry::agent::v1;

api::AgentErrors ErrorsOf(absl::string_view node, const AgentErrors& errors);

api::ObjectCounts CountsOf(const model::Model& model, const lb::LbInput& input,
                           size_t local_endpoints);

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_FERRYD_API_VIEW_H_
