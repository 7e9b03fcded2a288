// BGP as a controller: plans this node's peers and routes from the model and
// LB-IPAM's VIPs and hands them to the speaker when they changed.
#ifndef FERRY_AGENT_CONTROLLERS_BGP_DRIVER_H_
#define FERRY_AGENT_CONTROLLERS_BGP_DRIVER_H_

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/controllers/bgp/plan.h"
#include "agent/controllers/controller.h"
#include "agent/controllers/ipam/driver.h"
#include "agent/sources/secrets.h"
#include "bgp/speaker.h"

namespace ferry::ferryd {

class BgpDriver : public Controller {
 public:
  BgpDriver(std::unique_ptr<bgp::Speaker> speaker, std::string node,
            const sources::SecretStore& secrets, const IpamDriver& ipam);

  // Its own thread and lock: the API's threads ask it directly.
  bgp::Speaker& speaker() const { return *speaker_; }

  absl::string_view Name() const override { return "bgp"; }
  void Run(Pass& pass) override;
  void AppendProblems(std::vector<std::string>& problems) const override;
  void AppendStatus(nlohmann::json& document) const override;
  void Publish(ApiViews& views) override;

 private:
  // Plans and hands the speaker what changed; false when something must be
  // retried.
  bool Update(Pass& pass);

  const std::unique_ptr<bgp::Speaker> speaker_;
  const std::string node_;
  const sources::SecretStore& secret_store_;
  // The store's generation when it was last read; unset for a store that
  // cannot say (then a peer with a Secret keeps the retry timer armed).
  std::optional<uint64_t> secrets_read_;
  const IpamDriver& ipam_;
  std::vector<std::string> problems_;  // of the last run
  bgp_control::BgpPlan plan_;          // of the last run
  // What the speaker was last given.
  using Applied = std::vector<std::pair<bgp::PeerConfig, std::vector<bgp::Advertisement>>>;
  Applied applied_;
  // (Secret, key) -> the last value read.
  std::map<std::pair<std::string, std::string>, std::string> secrets_;
  bool unpublished_ = true;
};

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_BGP_DRIVER_H_
