// events.k8s.io/v1 Events for what a person must notice, deduplicated as
// client-go's event recorder does, without its goroutines: pure (the clock
// is injected; the caller sends the requests Take gives).
//
//  - A series: the same reason and type about the same object within
//    `series_window` of its last occurrence is one Event whose
//    series.count and series.lastObservedTime are updated, not a new one.
//  - Updates of a series are coalesced: at most one write per series per
//    `series_interval`, carrying the latest count.
//  - A token bucket bounds all writes (`burst`, one more per `refill`), so
//    a flapping object cannot flood the API; what the bucket refuses waits
//    (a new Event) or is folded into the next update (a series).
#ifndef FERRY_AGENT_K8S_EVENT_RECORDER_H_
#define FERRY_AGENT_K8S_EVENT_RECORDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "agent/k8s/api_calls.h"

namespace ferry::k8s {

struct ObjectReference {
  std::string api_version;  // "v1", "ferry.dev/v1alpha1"
  std::string kind;
  std::string namespace_;   // empty for cluster-scoped objects
  std::string name;
  auto operator<=>(const ObjectReference&) const = default;
};

struct EventNote {
  ObjectReference regarding;
  std::string type;    // "Normal", "Warning"
  std::string reason;  // "AddressAllocated", "AddressMoved", ...
  std::string note;
};

struct EventRecorderOptions {
  std::string controller = "ferry.dev/ipam";  // reportingController
  std::string instance;                       // reportingInstance: the node
  // Where Events about cluster-scoped objects go, as kube puts them.
  std::string cluster_namespace = "default";
  absl::Duration series_window = absl::Minutes(6);
  absl::Duration series_interval = absl::Seconds(30);
  int burst = 25;
  absl::Duration refill = absl::Seconds(10);
};

class EventRecorder {
 public:
  explicit EventRecorder(EventRecorderOptions options) : options_(std::move(options)) {}

  void Record(const EventNote& event, absl::Time now);
  // The writes due now, within the rate bound: POSTs of new Events and
  // merge patches of series.
  std::vector<ApiRequest> Take(absl::Time now);
  // When Take has something to give; InfiniteFuture when nothing waits.
  absl::Time NextAt() const { return next_at_; }

 private:
  using Key = std::tuple<ObjectReference, std::string, std::string>;  // object, type, reason
  struct Series {
    std::string name;
    std::string note;
    absl::Time first = absl::InfinitePast();
    absl::Time last = absl::InfinitePast();
    int64_t count = 0;
    int64_t written = 0;  // the count the API holds; 0: not created
    absl::Time written_at = absl::InfinitePast();
  };
  bool TakeToken(absl::Time now);
  // When the bucket holds a token again.
  absl::Time TokenAt() const;
  absl::Time DueAt(const Series& series) const;
  ApiRequest Create(const Key& key, const Series& series) const;
  ApiRequest Update(const Key& key, const Series& series) const;
  std::string NamespaceOf(const ObjectReference& object) const;
  // What NextAt says, from the series as Take left them: linear in the
  // series, so computed when Take walks them, not at every wake.
  absl::Time ComputeNextAt() const;

  const EventRecorderOptions options_;
  std::map<Key, Series> series_;
  double tokens_ = -1;  // -1: full, not yet used
  absl::Time tokens_at_ = absl::InfinitePast();
  // InfinitePast after Record: Take must look.
  absl::Time next_at_ = absl::InfiniteFuture();
};

// An events.k8s.io MicroTime: RFC 3339 with microseconds, UTC.
std::string MicroTime(absl::Time time);

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_EVENT_RECORDER_H_
