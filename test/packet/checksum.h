// The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-headers
// (RFC 793, RFC 768, RFC 8200 §8.1).
#ifndef FERRY_TEST_PACKET_CHECKSUM_H_
#define FERRY_TEST_PACKET_CHECKSUM_H_

#include <cstdint>
#include <span>

#include "test/packet/address.h"

namespace ferry::packet {

// Adds bytes, read as big-endian 16-bit words (an odd last byte is padded
// with zero), to a running one's-complement sum.
uint32_t ChecksumAdd(uint32_t sum, std::span<const uint8_t> bytes);

// Folds the carries and complements: the value to store, big-endian, in a
// checksum field. Over bytes whose checksum field is right, it yields 0.
uint16_t ChecksumFinish(uint32_t sum);

uint16_t InternetChecksum(std::span<const uint8_t> bytes);

// Sum of the pseudo-header for an upper-layer packet of `length` bytes.
uint32_t PseudoHeaderSum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                         uint32_t length);

}  // namespace ferry::packet

#endif  // FERRY_TEST_PACKET_CHECKSUM_H_
