// Byte-level helpers the codec shares: a bounds-checked reader, big-endian
// writers and the prefix encoding of RFC 4271 §4.3. Internal to bgp/.
#ifndef FERRY_BGP_WIRE_H_
#define FERRY_BGP_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bgp/types.h"

namespace ferry::bgp::wire {

// Every read fails, consuming nothing, rather than run past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - offset_; }
  bool empty() const { return remaining() == 0; }

  bool U8(uint8_t& value);
  bool U16(uint16_t& value);
  bool U32(uint32_t& value);
  bool Bytes(size_t count, std::span<const uint8_t>& bytes);
  std::span<const uint8_t> Rest();

 private:
  std::span<const uint8_t> data_;
  size_t offset_ = 0;
};

void PutU8(std::vector<uint8_t>& out, uint8_t value);
void PutU16(std::vector<uint8_t>& out, uint16_t value);
void PutU32(std::vector<uint8_t>& out, uint32_t value);
void PutBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes);
// Writes a big-endian 16-bit value over out[at], out[at + 1].
void PatchU16(std::vector<uint8_t>& out, size_t at, uint16_t value);

uint32_t Ipv4ToU32(const IpAddress& address);
IpAddress Ipv4FromU32(uint32_t value);
// `bytes` holds exactly 4 or 16 octets.
IpAddress AddressFromBytes(std::span<const uint8_t> bytes);
std::span<const uint8_t> AddressBytes(const IpAddress& address);

// Length in bits, then as few octets as hold them.
size_t PrefixWireSize(const IpPrefix& prefix);
void PutPrefix(std::vector<uint8_t>& out, const IpPrefix& prefix);
// Reads prefixes of one family until `bytes` ends. False when a length
// exceeds the family's width or a prefix runs past the end. Bits past a
// prefix's length are cleared: RFC 4271 §4.3 makes their value irrelevant.
bool ReadPrefixes(std::span<const uint8_t> bytes, IpFamily family, std::vector<IpPrefix>& out);

}  // namespace ferry::bgp::wire

#endif  // FERRY_BGP_WIRE_H_
