// One-shot requests (reads and writes of single objects) over the source's
// Transport, each answered in full to its callback: the status code, the
// whole body, or why it failed. The reflectors' streams stay the source's;
// KubernetesSource hands this the events of every other request.
#ifndef FERRY_AGENT_K8S_API_CALLS_H_
#define FERRY_AGENT_K8S_API_CALLS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "agent/k8s/transport.h"

namespace ferry::k8s {

struct ApiResponse {
  long status = 0;     // 0 when no answer came
  std::string body;
  std::string error;   // why no (complete) answer came; empty when one did

  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  // The Status's message of an error answer, or the transport's error.
  std::string Describe() const;
};

struct ApiRequest {
  std::string method;  // GET, POST, PUT, PATCH
  std::string path;
  std::string body;
  std::string content_type;
  bool operator==(const ApiRequest&) const = default;
};

inline constexpr char kJson[] = "application/json";
inline constexpr char kMergePatch[] = "application/merge-patch+json";

class ApiCalls {
 public:
  using Done = std::function<void(const ApiResponse&)>;
  explicit ApiCalls(Transport& transport) : transport_(transport) {}

  // Starts `request`; `done` runs from a later Deliver (or now, with the
  // error, when it cannot start).
  void Send(const ApiRequest& request, Done done);
  // Takes the event when it belongs to one of these calls.
  bool Deliver(TransportEvent& event);
  size_t pending() const { return calls_.size(); }

 private:
  struct Call {
    ApiResponse response;
    Done done;
  };
  Transport& transport_;
  std::map<uint64_t, Call> calls_;
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_API_CALLS_H_
