#include "agent/k8s/event_recorder.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace ferry::k8s {

std::string MicroTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

void EventRecorder::Record(const EventNote& event, absl::Time now) {
  const Key key{event.regarding, event.type, event.reason};
  Series& series = series_[key];
  if (series.count > 0 && now - series.last < options_.series_window) {
    ++series.count;
  } else {
    // A new Event: named as kube names them, the object and the time.
    series = Series{.name = absl::StrCat(event.regarding.name, ".",
                                         absl::Hex(absl::ToUnixNanos(now))),
                    .first = now,
                    .count = 1};
  }
  series.note = event.note;
  series.last = now;
  next_at_ = absl::InfinitePast();  // Take looks again
}

bool EventRecorder::TakeToken(absl::Time now) {
  if (tokens_ < 0) {
    tokens_ = options_.burst;
  } else {
    tokens_ = std::min<double>(options_.burst,
                               tokens_ + absl::FDivDuration(now - tokens_at_, options_.refill));
  }
  tokens_at_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

absl::Time EventRecorder::TokenAt() const {
  if (tokens_ < 0 || tokens_ >= 1) return absl::InfinitePast();
  return tokens_at_ + (1 - tokens_) * options_.refill;
}

absl::Time EventRecorder::DueAt(const Series& series) const {
  if (series.written >= series.count) return absl::InfiniteFuture();
  if (series.written == 0) return absl::InfinitePast();
  return series.written_at + options_.series_interval;
}

std::string EventRecorder::NamespaceOf(const ObjectReference& object) const {
  return object.namespace_.empty() ? options_.cluster_namespace : object.namespace_;
}

ApiRequest EventRecorder::Create(const Key& key, const Series& series) const {
  const auto& [object, type, reason] = key;
  nlohmann::json regarding = {
      {"apiVersion", object.api_version}, {"kind", object.kind}, {"name", object.name}};
  if (!object.namespace_.empty()) regarding["namespace"] = object.namespace_;
  nlohmann::json event = {
      {"apiVersion", "events.k8s.io/v1"},
      {"kind", "Event"},
      {"metadata", {{"name", series.name}, {"namespace", NamespaceOf(object)}}},
      {"eventTime", MicroTime(series.first)},
      {"reportingController", options_.controller},
      {"reportingInstance", options_.instance},
      {"action", reason},
      {"reason", reason},
      {"type", type},
      {"regarding", std::move(regarding)},
      {"note", series.note}};
  if (series.count > 1) {
    event["series"] = {{"count", series.count}, {"lastObservedTime", MicroTime(series.last)}};
  }
  return {.method = "POST",
          .path = absl::StrCat("/apis/events.k8s.io/v1/namespaces/", NamespaceOf(object),
                               "/events"),
          .body = event.dump(),
          .content_type = kJson};
}

ApiRequest EventRecorder::Update(const Key& key, const Series& series) const {
  const nlohmann::json patch = {
      {"note", series.note},
      {"series", {{"count", series.count}, {"lastObservedTime", MicroTime(series.last)}}}};
  return {.method = "PATCH",
          .path = absl::StrCat("/apis/events.k8s.io/v1/namespaces/",
                               NamespaceOf(std::get<0>(key)), "/events/", series.name),
          .body = patch.dump(),
          .content_type = kMergePatch};
}

std::vector<ApiRequest> EventRecorder::Take(absl::Time now) {
  std::vector<ApiRequest> requests;
  // Called at every wake of the loop: nothing is due before next_at_, and
  // the walk over every series is for when something is.
  if (now < next_at_) return requests;
  for (auto it = series_.begin(); it != series_.end();) {
    Series& series = it->second;
    if (DueAt(series) <= now && TakeToken(now)) {
      requests.push_back(series.written == 0 ? Create(it->first, series)
                                             : Update(it->first, series));
      series.written = series.count;
      series.written_at = now;
    }
    // A series over, and written: forgotten.
    if (series.written >= series.count && now - series.last >= options_.series_window) {
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
  next_at_ = ComputeNextAt();
  return requests;
}

absl::Time EventRecorder::ComputeNextAt() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [key, series] : series_) {
    next = std::min(next, std::max(DueAt(series), TokenAt()));
    if (series.written >= series.count) {
      next = std::min(next, series.last + options_.series_window);
    }
  }
  return next;
}

}  // namespace ferry::k8s
