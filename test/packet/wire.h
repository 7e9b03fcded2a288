// Big-endian field access shared by the builder and the decoder.
#ifndef FERRY_TEST_PACKET_WIRE_H_
#define FERRY_TEST_PACKET_WIRE_H_

#include <cstdint>
#include <span>
#include <vector>

namespace ferry::packet::wire {

inline void Put16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

inline void Put32(std::vector<uint8_t>& out, uint32_t value) {
  Put16(out, static_cast<uint16_t>(value >> 16));
  Put16(out, static_cast<uint16_t>(value));
}

inline void Set16(std::vector<uint8_t>& out, size_t offset, uint16_t value) {
  out[offset] = static_cast<uint8_t>(value >> 8);
  out[offset + 1] = static_cast<uint8_t>(value);
}

inline uint16_t Get16(std::span<const uint8_t> in, size_t offset) {
  return static_cast<uint16_t>((in[offset] << 8) | in[offset + 1]);
}

inline uint32_t Get32(std::span<const uint8_t> in, size_t offset) {
  return (uint32_t{Get16(in, offset)} << 16) | Get16(in, offset + 2);
}

}  // namespace ferry::packet::wire

#endif  // FERRY_TEST_PACKET_WIRE_H_
