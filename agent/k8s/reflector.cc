#include "agent/k8s/reflector.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace ferry::k8s {
namespace {

constexpr long kHttpOk = 200;
constexpr long kHttpGone = 410;

// Percent-encodes a query value (a field selector's '=' and ',', a
// continue token's '=' padding).
std::string QueryValue(absl::string_view value) {
  std::string out;
  for (const char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      constexpr char kDigits[] = "0123456789ABCDEF";
      const auto byte = static_cast<unsigned char>(c);
      out += {'%', kDigits[byte >> 4], kDigits[byte & 15]};
    }
  }
  return out;
}

std::string StringAt(const nlohmann::json& object, const char* section, const char* field) {
  const auto meta = object.find(section);
  if (meta == object.end() || !meta->is_object()) return "";
  const auto value = meta->find(field);
  return value != meta->end() && value->is_string() ? value->get<std::string>() : "";
}

ObjectKey KeyOf(const nlohmann::json& object) {
  return {StringAt(object, "metadata", "namespace"), StringAt(object, "metadata", "name")};
}

// The message of a Status body, if it is one.
std::string StatusMessage(absl::string_view body) {
  const nlohmann::json status = nlohmann::json::parse(body, nullptr, false);
  if (status.is_object() && status.contains("message") && status["message"].is_string()) {
    return status["message"].get<std::string>();
  }
  return std::string(body.substr(0, 200));
}

}  // namespace

Reflector::Reflector(Resource resource, const ReflectorTiming& timing, Random random)
    : resource_(std::move(resource)), timing_(timing), random_(std::move(random)) {}

std::string Reflector::ListRequest() const {
  std::string request = absl::StrCat(resource_.path, "?limit=", timing_.page_size);
  if (!continue_.empty()) absl::StrAppend(&request, "&continue=", QueryValue(continue_));
  if (!resource_.field_selector.empty()) {
    absl::StrAppend(&request, "&fieldSelector=", QueryValue(resource_.field_selector));
  }
  return request;
}

std::string Reflector::WatchRequest() const {
  // Between one and two watch_timeouts, as client-go does: the agents of a
  // cluster started together do not all come back at the same moment.
  const absl::Duration timeout = timing_.watch_timeout * (1 + std::clamp(random_(), 0.0, 1.0));
  std::string request =
      absl::StrCat(resource_.path, "?watch=1&resourceVersion=", QueryValue(resource_version_),
                   "&allowWatchBookmarks=true&timeoutSeconds=", absl::ToInt64Seconds(timeout));
  if (!resource_.field_selector.empty()) {
    absl::StrAppend(&request, "&fieldSelector=", QueryValue(resource_.field_selector));
  }
  return request;
}

std::optional<std::string> Reflector::NextRequest(absl::Time now) {
  if (in_flight_ != InFlight::kNone || now < due_) return std::nullopt;
  in_flight_ = list_next_ ? InFlight::kList : InFlight::kWatch;
  status_ = 0;
  body_.clear();
  lines_.Reset();
  watch_had_bytes_ = false;
  last_bytes_ = now;
  ++requests_;
  return list_next_ ? ListRequest() : WatchRequest();
}

void Reflector::OnData(absl::Time now, long status, absl::string_view bytes) {
  if (in_flight_ == InFlight::kNone) return;
  last_bytes_ = now;
  status_ = status;
  if (in_flight_ == InFlight::kList || status != kHttpOk) {
    body_.append(bytes.data(), bytes.size());
    return;
  }
  watch_had_bytes_ = true;
  absl::StatusOr<std::vector<nlohmann::json>> events = lines_.Feed(bytes);
  if (!events.ok()) {
    Failed(now, absl::StrCat("watch: ", events.status().message()));
    drop_ = true;
    return;
  }
  for (const nlohmann::json& event : *events) {
    if (WatchEvent(event)) continue;
    // An ERROR event ends the watch; its Status says what to do, as a
    // response's would.
    drop_ = true;
    OnDone(now, status_,
           status_ == kHttpGone ? "" : absl::StrCat("ERROR event: ", StatusMessage(body_)));
    return;
  }
  // A watch that delivers is a connection that works.
  failures_ = 0;
  gone_in_a_row_ = 0;
  failure_.clear();
}

bool Reflector::WatchEvent(const nlohmann::json& event) {
  const auto type_at = event.find("type");
  const std::string type =
      type_at != event.end() && type_at->is_string() ? type_at->get<std::string>() : "";
  const auto object = event.find("object");
  if (object == event.end() || !object->is_object()) return true;
  if (type == "BOOKMARK") {
    if (std::string version = StringAt(*object, "metadata", "resourceVersion"); !version.empty()) {
      resource_version_ = std::move(version);
    }
    return true;
  }
  if (type == "ERROR") {
    const auto code = object->find("code");
    status_ = code != object->end() && *code == kHttpGone ? kHttpGone : 0;
    body_ = object->dump();
    return false;
  }
  std::string version = StringAt(*object, "metadata", "resourceVersion");
  if (type == "ADDED" || type == "MODIFIED") {
    Upsert(*object, EventType::kAdded);
  } else if (type == "DELETED") {
    ObjectKey key = KeyOf(*object);
    if (store_.erase(key) > 0) {
      events_.push_back({.type = EventType::kDeleted,
                         .key = std::move(key),
                         .resource_version = version,
                         .object = nullptr});
    }
  }
  if (!version.empty()) resource_version_ = std::move(version);
  return true;
}

bool Reflector::Upsert(nlohmann::json object, EventType type_if_new) {
  ObjectKey key = KeyOf(object);
  if (key.name.empty()) return false;
  std::string version = StringAt(object, "metadata", "resourceVersion");
  auto [at, added] = store_.try_emplace(key, version);
  if (!added && at->second == version) return true;  // seen as it is
  at->second = version;
  // List items come without their kind; the decoder needs it.
  if (!object.contains("kind")) object["kind"] = resource_.kind;
  if (!object.contains("apiVersion")) object["apiVersion"] = resource_.api_version;
  events_.push_back({.type = added ? type_if_new : EventType::kModified,
                     .key = std::move(key),
                     .resource_version = std::move(version),
                     .object = std::move(object)});
  return true;
}

void Reflector::OnDone(absl::Time now, long status, absl::string_view error) {
  if (in_flight_ == InFlight::kNone) return;
  const InFlight ended = in_flight_;
  in_flight_ = InFlight::kNone;
  if (status != 0) status_ = status;
  if (status_ == kHttpGone) return Gone(now, ended == InFlight::kList ? "list" : "watch");
  if (!error.empty()) {
    return Failed(now, absl::StrCat(ended == InFlight::kList ? "list: " : "watch: ", error));
  }
  if (status_ != kHttpOk) {
    return Failed(now, absl::StrCat(ended == InFlight::kList ? "list" : "watch", ": HTTP ", status_,
                                    ": ", StatusMessage(body_)));
  }
  if (ended == InFlight::kList) return EndList(now);
  // The server ended the watch (timeoutSeconds): resume where it was. One
  // that ended at once with nothing is a server in trouble: back off.
  if (!watch_had_bytes_) return Failed(now, "watch: ended with no event");
  due_ = now;
}

void Reflector::EndList(absl::Time now) {
  nlohmann::json page = nlohmann::json::parse(body_, nullptr, false);
  body_.clear();
  if (!page.is_object() || !page.contains("items") ||
      !(page["items"].is_array() || page["items"].is_null())) {
    return Failed(now, "list: the response is not a list of objects");
  }
  if (page["items"].is_array()) {
    for (nlohmann::json& item : page["items"]) {
      if (!item.is_object()) continue;
      ObjectKey key = KeyOf(item);
      if (Upsert(std::move(item), EventType::kAdded)) listed_.insert(std::move(key));
    }
  }
  // A list that works after 410s is no proof the watch will: the count
  // goes on until a watch delivers (a 410 storm backs off).
  if (gone_in_a_row_ == 0) failures_ = 0;
  failure_.clear();
  continue_ = StringAt(page, "metadata", "continue");
  if (!continue_.empty()) {
    due_ = now;
    return;
  }
  // The whole list came: what it does not have is gone.
  for (auto it = store_.begin(); it != store_.end();) {
    if (listed_.contains(it->first)) {
      ++it;
      continue;
    }
    events_.push_back(
        {.type = EventType::kDeleted, .key = it->first, .resource_version = "", .object = nullptr});
    it = store_.erase(it);
  }
  listed_.clear();
  resource_version_ = StringAt(page, "metadata", "resourceVersion");
  synced_ = true;
  list_next_ = false;
  due_ = now;
}

void Reflector::Gone(absl::Time now, absl::string_view what) {
  // The resourceVersion (or the continue token) is older than the server
  // keeps: list afresh. At once the first time, since there is nothing to
  // wait for; a server that answers 410 to a fresh list too is backed off.
  ++relists_;
  list_next_ = true;
  continue_.clear();
  listed_.clear();
  failure_ = absl::StrCat(what, ": 410 Gone: listing again");
  due_ = gone_in_a_row_++ == 0 ? now : now + Backoff();
}

void Reflector::Failed(absl::Time now, std::string why) {
  failure_ = std::move(why);
  in_flight_ = InFlight::kNone;
  // A list is started again from its first page: the continue token of a
  // page that failed may be what failed.
  if (list_next_) {
    continue_.clear();
    listed_.clear();
  }
  due_ = now + Backoff();
}

absl::Duration Reflector::Backoff() {
  // Exponential, with "equal jitter": between half and all of the ceiling,
  // so retries of many agents spread out but none waits past the bound.
  const double scale = std::ldexp(1.0, std::min(failures_++, 30));
  const absl::Duration ceiling = std::min(timing_.backoff_max, timing_.backoff_initial * scale);
  return ceiling / 2 + ceiling / 2 * std::clamp(random_(), 0.0, 1.0);
}

bool Reflector::Drop(absl::Time now) {
  if (std::exchange(drop_, false)) return true;
  if (in_flight_ == InFlight::kNone) return false;
  if (now - last_bytes_ < timing_.bookmark_interval * timing_.stall_intervals) return false;
  Failed(now, absl::StrCat(in_flight_ == InFlight::kList ? "list" : "watch", ": no byte for ",
                           absl::FormatDuration(now - last_bytes_), ": stalled"));
  return true;
}

absl::Time Reflector::Deadline() const {
  if (drop_) return absl::InfinitePast();
  if (in_flight_ != InFlight::kNone) {
    return last_bytes_ + timing_.bookmark_interval * timing_.stall_intervals;
  }
  return due_;
}

}  // namespace ferry::k8s
