// GoogleTest assertions on packets. A mismatch prints both packets decoded,
// field by field, side by side, marking the fields that differ:
//
//   EXPECT_PACKET_EQ(expected_frame, actual_frame);      // Ethernet frames
//   EXPECT_IP_PACKET_EQ(expected_ip, actual_ip);         // from the IP header
//   EXPECT_CHECKSUMS_OK(frame);
#ifndef FERRY_TEST_PACKET_PACKET_MATCHERS_H_
#define FERRY_TEST_PACKET_PACKET_MATCHERS_H_

#include <span>

#include "gtest/gtest.h"
#include "test/packet/decoder.h"

namespace ferry::packet {

// A predicate-formatter for EXPECT_PRED_FORMAT2 comparing two packets that
// start at `first`.
class PacketEq {
 public:
  explicit PacketEq(FirstLayer first) : first_(first) {}
  ::testing::AssertionResult operator()(const char* expected_expr, const char* actual_expr,
                                        std::span<const uint8_t> expected,
                                        std::span<const uint8_t> actual) const;

 private:
  FirstLayer first_;
};

// Success when the bytes decode and every checksum in them is right.
::testing::AssertionResult ChecksumsOk(std::span<const uint8_t> bytes,
                                       FirstLayer first = FirstLayer::kEthernet);

}  // namespace ferry::packet

#define EXPECT_PACKET_EQ(expected, actual)                                                      \
  EXPECT_PRED_FORMAT2(::ferry::packet::PacketEq(::ferry::packet::FirstLayer::kEthernet), expected, \
                      actual)
#define EXPECT_IP_PACKET_EQ(expected, actual) \
  EXPECT_PRED_FORMAT2(::ferry::packet::PacketEq(::ferry::packet::FirstLayer::kIp), expected, actual)
#define EXPECT_CHECKSUMS_OK(bytes) EXPECT_TRUE(::ferry::packet::ChecksumsOk(bytes))

#endif  // FERRY_TEST_PACKET_PACKET_MATCHERS_H_
