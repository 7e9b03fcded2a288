#include "test/packet/checksum.h"

namespace ferry::packet {

uint32_t ChecksumAdd(uint32_t sum, std::span<const uint8_t> bytes) {
  uint64_t wide = sum;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) wide += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.size() % 2 == 1) wide += bytes.back() << 8;
  while (wide >> 32) wide = (wide & 0xffffffff) + (wide >> 32);
  return static_cast<uint32_t>(wide);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t InternetChecksum(std::span<const uint8_t> bytes) {
  return ChecksumFinish(ChecksumAdd(0, bytes));
}

uint32_t PseudoHeaderSum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                         uint32_t length) {
  uint32_t sum = ChecksumAdd(0, std::span(src.bytes).first(src.size()));
  sum = ChecksumAdd(sum, std::span(dst.bytes).first(dst.size()));
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, three zero
  // bytes, next header. As 16-bit words both add up to the same sum.
  const uint8_t tail[] = {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
                          static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length), 0,
                          protocol};
  return ChecksumAdd(sum, tail);
}

}  // namespace ferry::packet
