// The demo's client: plain HTTP/1.0 GETs, one connection each, from a fixed
// local port per request, so a packet capture can tell which request (and so
// which pod) every reply on the wire belongs to.
#ifndef FERRY_TOOLS_FERRY_DEMO_HTTP_CLIENT_H_
#define FERRY_TOOLS_FERRY_DEMO_HTTP_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "test/e2e/netns.h"

namespace ferry::demo {

struct HttpRequests {
  std::string address;  // IPv4 or IPv6 text
  uint16_t port = 0;
  int count = 0;
  // Request i is "GET /<path_prefix>-<i>" from local port first_local_port + i.
  std::string path_prefix;
  uint16_t first_local_port = 20000;
  absl::Duration timeout_each = absl::Seconds(2);
};

struct HttpAnswer {
  std::string path;
  uint16_t local_port = 0;
  absl::Status status;  // OK: "200 OK" whose body echoed this request's path
  std::string pod;      // who answered, when status is OK
  absl::Duration latency;
};

// Sends the requests one after the other from inside `ns`; fails only if the
// run cannot start, each request's outcome is in its answer.
absl::StatusOr<std::vector<HttpAnswer>> SendHttpRequests(const netns::Namespace& ns,
                                                         const HttpRequests& requests);

}  // namespace ferry::demo

#endif  // FERRY_TOOLS_FERRY_DEMO_HTTP_CLIENT_H_
