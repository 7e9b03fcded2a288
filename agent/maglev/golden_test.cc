// Fixed expected values for what nodes of two versions must agree on during
// a rolling upgrade (golden.h says why): the flow hash and Maglev tables.
#include "agent/maglev/golden.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/maglev/maglev.h"
#include "flow_hash.h"
#include "gtest/gtest.h"

namespace ferry::maglev {
namespace {

ferry_flow_key KeyOf(const golden::Flow& flow) {
  ferry_flow_key key = {};
  const bool v6 = std::strchr(flow.client, ':') != nullptr;
  const int family = v6 ? AF_INET6 : AF_INET;
  EXPECT_EQ(inet_pton(family, flow.client, key.src.bytes), 1) << flow.client;
  EXPECT_EQ(inet_pton(family, flow.vip, key.dst.bytes), 1) << flow.vip;
  key.sport = htons(flow.client_port);
  key.dport = htons(flow.vip_port);
  key.proto = flow.protocol;
  key.family = v6 ? FERRY_FAMILY_IPV6 : FERRY_FAMILY_IPV4;
  return key;
}

TEST(Golden, FlowHashOfFixedFlows) {
  for (const golden::Flow& flow : golden::kFlows) {
    const ferry_flow_key key = KeyOf(flow);
    EXPECT_EQ(ferry_flow_hash(&key, flow.seed), flow.hash)
        << flow.client << ":" << flow.client_port << " -> " << flow.vip << ":" << flow.vip_port
        << " proto " << int{flow.protocol} << " seed " << flow.seed;
  }
}

// Backends as the agent names them ("pod address:port"), weights 1, 2, 3;
// the table holds indexes into this list.
const std::vector<Backend> kThreeBackends = {
    {"198.18.17.10:8080", 1}, {"198.18.18.10:8080", 2}, {"2001:db8:16:3::10:8080", 3}};

TEST(Golden, SmallTablesOfThreeWeightedBackends) {
  absl::StatusOr<std::vector<uint32_t>> thirteen = BuildTable(kThreeBackends, 13);
  ASSERT_TRUE(thirteen.ok()) << thirteen.status();
  EXPECT_EQ(*thirteen, (std::vector<uint32_t>{2, 1, 2, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2}));
  absl::StatusOr<std::vector<uint32_t>> thirty_one = BuildTable(kThreeBackends, 31);
  ASSERT_TRUE(thirty_one.ok()) << thirty_one.status();
  EXPECT_EQ(*thirty_one, (std::vector<uint32_t>{2, 0, 2, 1, 0, 2, 2, 2, 2, 2, 2, 0, 2, 1, 1, 2,
                                                1, 1, 2, 0, 1, 0, 1, 2, 1, 2, 1, 0, 2, 2, 1}));
}

// 64-bit FNV-1a over the slots, each as 4 little-endian bytes.
uint64_t Fingerprint(const std::vector<uint32_t>& table) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint32_t slot : table) {
    for (int shift = 0; shift < 32; shift += 8) {
      hash ^= (slot >> shift) & 0xff;
      hash *= 0x100000001b3ull;
    }
  }
  return hash;
}

TEST(Golden, ADefaultSizeTableOfTenBackends) {
  std::vector<Backend> backends;
  for (uint32_t i = 1; i <= 10; ++i) {
    backends.push_back({absl::StrCat("198.18.", 16 + i, ".10:8080"), 1 + i % 3});
  }
  absl::StatusOr<std::vector<uint32_t>> table = BuildTable(backends, kDefaultTableSize);
  ASSERT_TRUE(table.ok()) << table.status();
  std::vector<int> slots(backends.size());
  for (uint32_t index : *table) ++slots[index];
  EXPECT_EQ(slots, (std::vector<int>{1639, 2457, 819, 1638, 2457, 819, 1638, 2457, 819, 1638}));
  EXPECT_EQ(Fingerprint(*table), 0x80ebaae9e599b998ull);
}

}  // namespace
}  // namespace ferry::maglev
