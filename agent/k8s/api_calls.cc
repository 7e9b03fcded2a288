#include "agent/k8s/api_calls.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::k8s {

std::string ApiResponse::Describe() const {
  if (!error.empty()) return error;
  const nlohmann::json status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const std::string message =
      status.is_object() && status.contains("message") && status["message"].is_string()
          ? status["message"].get<std::string>()
          : body.substr(0, 200);
  return absl::StrCat("HTTP ", this->status, ": ", message);
}

void ApiCalls::Send(const ApiRequest& request, Done done) {
  absl::StatusOr<uint64_t> id =
      transport_.Send(request.method, request.path, request.body, request.content_type);
  if (!id.ok()) {
    done(ApiResponse{.status = 0, .body = "", .error = std::string(id.status().message())});
    return;
  }
  calls_.emplace(*id, Call{.response = {}, .done = std::move(done)});
}

bool ApiCalls::Deliver(TransportEvent& event) {
  auto it = calls_.find(event.id);
  if (it == calls_.end()) return false;
  ApiResponse& response = it->second.response;
  response.body += event.data;
  response.status = event.status;
  if (!event.done) return true;
  response.error = event.error;
  Call call = std::move(it->second);
  calls_.erase(it);
  call.done(call.response);
  return true;
}

}  // namespace ferry::k8s
