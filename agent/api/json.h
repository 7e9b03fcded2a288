// The agent API's messages as JSON, one way for every consumer (errors.json,
// ferryctl -o json): every field present, proto field names, indented.
#ifndef FERRY_AGENT_API_JSON_H_
#define FERRY_AGENT_API_JSON_H_

#include <string>

#include "google/protobuf/message.h"

namespace ferry::agent::v1 {

std::string ToJson(const google::protobuf::Message& message);

}  // namespace ferry::agent::v1

#endif  // FERRY_AGENT_API_JSON_H_
