// List and watch of one resource, as a state machine with no I/O: it says
// which request to send, is fed the response's bytes and end, and gives the
// objects' changes. The transport (transport.h) does the HTTP; the clock
// and the jitter are injected, so every path is testable without a server.
//
// Behaviour (client-go's reflector, with the choices said):
//  - A list is paged (limit/continue). Added and modified objects are given
//    page by page; deletions only once the last page came, by difference
//    with the store of what was listed or watched before. So a relist after
//    410 Gone gives only what changed, and nothing is ever given as deleted
//    while the API cannot be reached: the datapath keeps its last state.
//  - Then a watch from the list's resourceVersion, with bookmarks, ended by
//    the server after timeoutSeconds and resumed from the last
//    resourceVersion seen (an event's or a bookmark's).
//  - 410 Gone, as the status of a list page or a watch or as a watch's
//    ERROR event: a fresh list (from the start, with no resourceVersion:
//    the server's current state).
//  - Any other failure (connection lost, 5xx, 403, bytes that are not
//    JSON): the same request again after an exponential backoff with
//    jitter, bounded; a watch resumes where it was.
//  - A request with no byte for `stall_intervals` bookmark intervals is
//    dropped (Drop) and retried as a failure: a server or path that hangs
//    without closing is otherwise never noticed.
#ifndef FERRY_AGENT_K8S_REFLECTOR_H_
#define FERRY_AGENT_K8S_REFLECTOR_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/k8s/line_decoder.h"

namespace ferry::k8s {

// What to list and watch.
struct Resource {
  // Set on each object (list items come without them).
  std::string api_version;  // "v1", "ferry.dev/v1alpha1"
  std::string kind;         // "Service"
  // "/api/v1/services", "/api/v1/namespaces/ferry/secrets"
  std::string path;
  // "metadata.name=bgp-password", or empty for every object.
  std::string field_selector;
};

struct ReflectorTiming {
  int page_size = 500;
  // timeoutSeconds of a watch, between this and twice this (jitter): the
  // server ends it then, and it is resumed.
  absl::Duration watch_timeout = absl::Minutes(5);
  // How often the server sends a bookmark on a quiet watch (about a minute
  // for kube-apiserver).
  absl::Duration bookmark_interval = absl::Minutes(1);
  int stall_intervals = 3;
  absl::Duration backoff_initial = absl::Milliseconds(500);
  absl::Duration backoff_max = absl::Seconds(30);
};

enum class EventType { kAdded, kModified, kDeleted };

struct ObjectKey {
  std::string namespace_;  // empty for cluster-scoped objects
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
};

struct ObjectEvent {
  EventType type = EventType::kAdded;
  ObjectKey key;
  std::string resource_version;
  nlohmann::json object;  // null for kDeleted
};

class Reflector {
 public:
  // A number in [0, 1): the jitter of each backoff.
  using Random = std::function<double()>;

  Reflector(Resource resource, const ReflectorTiming& timing, Random random);

  // The request to send now ("path?query"), when none is in flight and
  // one is due; it is then in flight.
  std::optional<std::string> NextRequest(absl::Time now);
  // Bytes of the in-flight response, with its HTTP status.
  void OnData(absl::Time now, long status, absl::string_view bytes);
  // The in-flight response ended; `error` is the transport's reason when it
  // did not complete (connection lost), empty otherwise.
  void OnDone(absl::Time now, long status, absl::string_view error);
  // True when the in-flight request must be dropped: it stalled, or its
  // stream turned out unusable. The reflector has forgotten it then; the
  // caller cancels it and feeds nothing more of it.
  bool Drop(absl::Time now);
  // When NextRequest or Drop next has something to do.
  absl::Time Deadline() const;

  // Changes since the last call, in order.
  std::vector<ObjectEvent> TakeEvents() { return std::exchange(events_, {}); }
  // The first full list was given.
  bool synced() const { return synced_; }
  // Why requests fail, until one succeeds; empty when all is well.
  const std::string& failure() const { return failure_; }
  const std::string& resource_version() const { return resource_version_; }
  const Resource& resource() const { return resource_; }
  const std::map<ObjectKey, std::string>& store() const { return store_; }
  // Requests sent and relists (after 410) so far.
  int requests() const { return requests_; }
  int relists() const { return relists_; }

 private:
  enum class InFlight { kNone, kList, kWatch };

  std::string ListRequest() const;
  std::string WatchRequest() const;
  void EndList(absl::Time now);
  // False when the event ends the watch (ERROR).
  bool WatchEvent(const nlohmann::json& event);
  // Upsert of an object from a list or a watch; false when it has no name.
  bool Upsert(nlohmann::json object, EventType type_if_new);
  void Gone(absl::Time now, absl::string_view what);
  void Failed(absl::Time now, std::string why);
  absl::Duration Backoff();

  const Resource resource_;
  const ReflectorTiming timing_;
  const Random random_;

  std::map<ObjectKey, std::string> store_;  // resourceVersion by object
  std::string resource_version_;            // where a watch resumes
  bool synced_ = false;
  bool list_next_ = true;       // else a watch
  std::string continue_;        // the next page of a list
  std::set<ObjectKey> listed_;  // objects of the pages so far

  InFlight in_flight_ = InFlight::kNone;
  bool drop_ = false;
  long status_ = 0;
  std::string body_;  // a list page, or the Status of a failed watch
  LineDecoder lines_;
  bool watch_had_bytes_ = false;
  absl::Time last_bytes_ = absl::InfinitePast();
  absl::Time due_ = absl::InfinitePast();
  int failures_ = 0;  // in a row
  int gone_in_a_row_ = 0;
  std::string failure_;
  int requests_ = 0;
  int relists_ = 0;
  std::vector<ObjectEvent> events_;
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_REFLECTOR_H_
