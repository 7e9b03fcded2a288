#include "l2announce/election.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace ferry::l2announce {
namespace {

constexpr absl::string_view kScoreDomain = "ferry-l2/v1";

// What the election knows about one VIP before choosing.
struct Candidacy {
  std::set<std::string> services;
  // Eligible node -> the policies that make it eligible.
  std::map<std::string, std::set<std::string>> nodes;
};

bool HasReadyEndpoint(const ElectionService& service, const std::string& node) {
  return !service.external_traffic_local || service.nodes_with_ready_endpoints.contains(node);
}

std::map<net::IpAddress, Candidacy> Candidacies(std::span<const PolicyMatcher> policies,
                                                  std::span<const ElectionService> services,
                                                  std::span<const ElectionNode> nodes) {
  std::map<net::IpAddress, Candidacy> candidacies;
  for (const PolicyMatcher& policy : policies) {
    for (const ElectionService& service : services) {
      for (const net::IpAddress& vip : policy.AnnouncedAddresses(service.addresses)) {
        Candidacy& candidacy = candidacies[vip];
        candidacy.services.insert(service.name);
        for (const ElectionNode& node : nodes) {
          if (policy.SelectsNode(node.labels) && HasReadyEndpoint(service, node.name)) {
            candidacy.nodes[node.name].insert(policy.policy().name);
          }
        }
      }
    }
  }
  return candidacies;
}

// Best first; the name breaks a tie of scores, which SHA-256 makes
// theoretical.
std::vector<std::string> Ranked(const net::IpAddress& vip, const Candidacy& candidacy) {
  std::vector<std::pair<uint64_t, std::string>> scored;
  for (const auto& [node, unused] : candidacy.nodes) {
    scored.emplace_back(RendezvousScore(vip, node), node);
  }
  std::sort(scored.begin(), scored.end(), std::greater<>());
  std::vector<std::string> ranked;
  for (auto& [score, node] : scored) ranked.push_back(std::move(node));
  return ranked;
}

}  // namespace

uint64_t RendezvousScore(const net::IpAddress& vip, absl::string_view node) {
  std::string input(kScoreDomain);
  input.push_back('\0');
  const bool v4 = vip.family == net::IpFamily::kIPv4;
  input.push_back(v4 ? 4 : 6);
  input.append(reinterpret_cast<const char*>(vip.bytes.data()), v4 ? 4 : 16);
  input.append(node.data(), node.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  uint64_t score = 0;
  for (int i = 0; i < 8; ++i) score = (score << 8) | digest[i];
  return score;
}

std::vector<Assignment> Elect(std::span<const PolicyMatcher> policies,
                              std::span<const ElectionService> services,
                              std::span<const ElectionNode> nodes, const ElectionConfig& config) {
  const std::map<net::IpAddress, Candidacy> candidacies = Candidacies(policies, services, nodes);
  std::set<std::string> eligible_nodes;
  size_t placed_vips = 0;
  for (const auto& [vip, candidacy] : candidacies) {
    for (const auto& [node, unused] : candidacy.nodes) eligible_nodes.insert(node);
    placed_vips += candidacy.nodes.empty() ? 0 : 1;
  }
  const double room = eligible_nodes.empty()
                          ? 0
                          : std::ceil(config.load_factor * static_cast<double>(placed_vips) /
                                      static_cast<double>(eligible_nodes.size()));

  std::map<std::string, size_t> load;
  std::vector<Assignment> assignments;
  for (const auto& [vip, candidacy] : candidacies) {
    Assignment assignment{.vip = vip,
                          .services = {candidacy.services.begin(), candidacy.services.end()}};
    const std::vector<std::string> ranked = Ranked(vip, candidacy);
    if (!ranked.empty()) {
      const auto with_room = std::find_if(ranked.begin(), ranked.end(), [&](const std::string& n) {
        return static_cast<double>(load[n]) < room;
      });
      const std::string& announcer = with_room != ranked.end() ? *with_room : ranked.front();
      ++load[announcer];
      const std::set<std::string>& policy_names = candidacy.nodes.at(announcer);
      assignment.announcer = announcer;
      assignment.policies = {policy_names.begin(), policy_names.end()};
    }
    assignments.push_back(std::move(assignment));
  }
  return assignments;
}

std::vector<std::string> AnnouncingInterfaces(const Assignment& assignment,
                                              std::span<const PolicyMatcher> policies,
                                              std::span<const std::string> node_interfaces) {
  std::vector<std::string> interfaces;
  for (const std::string& name : node_interfaces) {
    const bool selected = std::any_of(policies.begin(), policies.end(), [&](const PolicyMatcher& p) {
      return std::binary_search(assignment.policies.begin(), assignment.policies.end(),
                                p.policy().name) &&
             !p.SelectInterfaces(std::span<const std::string>(&name, 1)).empty();
    });
    if (selected) interfaces.push_back(name);
  }
  return interfaces;
}

}  // namespace ferry::l2announce
