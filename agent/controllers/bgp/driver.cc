#include "agent/controllers/bgp/driver.h"

#include "absl/strings/str_cat.h"
#include "agent/controllers/condition.h"

namespace ferry::ferryd {

BgpDriver::BgpDriver(std::unique_ptr<bgp::Speaker> speaker, std::string node,
                     const sources::SecretStore& secrets, const IpamDriver& ipam)
    : speaker_(std::move(speaker)),
      node_(std::move(node)),
      secret_store_(secrets),
      ipam_(ipam) {}

void BgpDriver::Run(Pass& pass) {
  const std::optional<uint64_t> generation = secret_store_.SecretsGeneration();
  const bool secrets_changed = generation.has_value() && generation != secrets_read_;
  if (!pass.first && !pass.retry && pass.delta.empty() && !secrets_changed) return;
  problems_.clear();
  pass.settled = Update(pass) && pass.settled;
  unpublished_ = true;
}

bool BgpDriver::Update(Pass& pass) {
  // A store that cannot say when a value changed (files) is asked again on
  // the retry timer while a peer needs one; one that can wakes a pass.
  bool settled = true;
  secrets_read_ = secret_store_.SecretsGeneration();
  bgp_control::BgpPlan plan = bgp_control::PlanBgp(
      pass.model, node_,
      [this](const model::ObjectRef& service) { return ipam_.VipsOf(service); },
      [this, &settled](absl::string_view name,
                       absl::string_view key) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> read = secret_store_.ReadSecret(name, key);
        const std::pair<std::string, std::string> ref{std::string(name), std::string(key)};
        if (!secrets_read_) settled = false;
        if (read.ok()) {
          secrets_[ref] = *read;
          return read;
        }
        // A Secret being replaced, or a passing EMFILE, must not take a
        // session down (and its routes with it) until the next pass.
        auto known = secrets_.find(ref);
        if (known == secrets_.end()) return read;
        problems_.push_back(absl::StrCat("bgp: Secret ", name, " key ", key, ": ",
                                         read.status().message(), "; the last value read is used"));
        return known->second;
      },
      pass.object_errors);
  if (!SameStatus(plan.statuses, plan_.statuses)) pass.status_changed = true;
  plan_ = std::move(plan);
  for (const std::string& problem : plan_.problems) problems_.push_back("bgp: " + problem);
  for (const bgp_control::DownPeer& down : plan_.down) {
    problems_.push_back(absl::StrCat("bgp: peer ", down.name, " is down: ", down.reason));
    settled = false;
  }
  if (const std::string error = speaker_->ListenError(); !error.empty()) {
    problems_.push_back(absl::StrCat("bgp: not accepting connections (retried): ", error));
    settled = false;
  }
  Applied wanted;
  for (const bgp_control::PeerPlan& peer : plan_.peers) wanted.emplace_back(peer.config, peer.routes);
  // Most passes change nothing: the speaker's thread is asked only then.
  if (wanted == applied_) return settled;
  if (absl::Status set = speaker_->SetPeersAndRoutes(wanted); !set.ok()) {
    problems_.push_back(absl::StrCat("bgp: ", set.message(), " (the previous routes stay)"));
    applied_.clear();  // tried again on the next pass
    return false;
  }
  applied_ = std::move(wanted);
  return settled;
}

void BgpDriver::AppendProblems(std::vector<std::string>& problems) const {
  problems.insert(problems.end(), problems_.begin(), problems_.end());
}

void BgpDriver::AppendStatus(nlohmann::json& document) const {
  nlohmann::json& listed = document["bgp"] = nlohmann::json::array();
  for (const bgp_control::ObjectStatus& object : plan_.statuses) {
    listed.push_back(ObjectStatusJson(object.object.kind, object.object.name, object.conditions));
  }
}

void BgpDriver::Publish(ApiViews& views) {
  if (!unpublished_) return;
  views.bgp = std::make_shared<const bgp_control::BgpPlan>(plan_);
  unpublished_ = false;
}

}  // namespace ferry::ferryd
