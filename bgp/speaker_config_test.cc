#include "bgp/speaker.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::bgp {
namespace {

PeerConfig Valid(const std::string& name, const std::string& address) {
  return PeerConfig{
      .name = name,
      .peer_address = *IpAddress::Parse(address),
      .session = {.local_as = 64513, .peer_as = 64512, .router_id = 1},
  };
}

std::string Problem(const std::vector<PeerConfig>& peers) {
  return std::string(ValidatePeers(peers).message());
}

TEST(ValidatePeers, AcceptsDistinctPeers) {
  EXPECT_TRUE(ValidatePeers({Valid("gw", "198.18.0.1"), Valid("gw6", "2001:db8:0:1::1")}).ok());
}

TEST(ValidatePeers, NamesThePeerAndTheProblem) {
  EXPECT_EQ(Problem({Valid("", "198.18.0.1")}), "BGP peer '': name must not be empty");
  EXPECT_EQ(Problem({Valid("gw", "198.18.0.1"), Valid("gw", "198.18.0.2")}), "BGP peer 'gw': listed twice");
  EXPECT_EQ(Problem({Valid("a", "198.18.0.1"), Valid("b", "198.18.0.1")}),
            "BGP peer 'b': address 198.18.0.1 is also peer 'a''s; an incoming connection is matched "
            "to its peer by address");

  PeerConfig port = Valid("gw", "198.18.0.1");
  port.peer_port = 0;
  EXPECT_EQ(Problem({port}), "BGP peer 'gw': port must not be 0");

  PeerConfig source = Valid("gw", "198.18.0.1");
  source.source_address = *IpAddress::Parse("2001:db8::1");
  EXPECT_EQ(Problem({source}),
            "BGP peer 'gw': source address 2001:db8::1 is not of the family of the peer address "
            "198.18.0.1");

  PeerConfig password = Valid("gw", "198.18.0.1");
  password.md5_password = std::string(81, 'x');
  EXPECT_EQ(Problem({password}), "BGP peer 'gw': TCP MD5 password has 81 octets; at most 80 fit");

  PeerConfig ttl = Valid("gw", "198.18.0.1");
  ttl.ttl = 256;
  EXPECT_EQ(Problem({ttl}), "BGP peer 'gw': TTL 256 is not from 1 to 255");

  PeerConfig session = Valid("gw", "198.18.0.1");
  session.session.peer_as = 0;
  EXPECT_EQ(Problem({session}), "BGP peer 'gw': BGP session config: peer AS must not be 0");
}

}  // namespace
}  // namespace ferry::bgp
