#include "bgp/wire.h"

#include <algorithm>

namespace ferry::bgp::wire {

bool Reader::U8(uint8_t& value) {
  if (remaining() < 1) return false;
  value = data_[offset_++];
  return true;
}

bool Reader::U16(uint16_t& value) {
  if (remaining() < 2) return false;
  value = static_cast<uint16_t>(data_[offset_] << 8 | data_[offset_ + 1]);
  offset_ += 2;
  return true;
}

bool Reader::U32(uint32_t& value) {
  if (remaining() < 4) return false;
  value = static_cast<uint32_t>(data_[offset_]) << 24 | static_cast<uint32_t>(data_[offset_ + 1]) << 16 |
          static_cast<uint32_t>(data_[offset_ + 2]) << 8 | data_[offset_ + 3];
  offset_ += 4;
  return true;
}

bool Reader::Bytes(size_t count, std::span<const uint8_t>& bytes) {
  if (remaining() < count) return false;
  bytes = data_.subspan(offset_, count);
  offset_ += count;
  return true;
}

std::span<const uint8_t> Reader::Rest() {
  std::span<const uint8_t> rest = data_.subspan(offset_);
  offset_ = data_.size();
  return rest;
}

void PutU8(std::vector<uint8_t>& out, uint8_t value) { out.push_back(value); }

void PutU16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void PutU32(std::vector<uint8_t>& out, uint32_t value) {
  PutU16(out, static_cast<uint16_t>(value >> 16));
  PutU16(out, static_cast<uint16_t>(value));
}

void PutBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void PatchU16(std::vector<uint8_t>& out, size_t at, uint16_t value) {
  out[at] = static_cast<uint8_t>(value >> 8);
  out[at + 1] = static_cast<uint8_t>(value);
}

uint32_t Ipv4ToU32(const IpAddress& address) {
  const auto& b = address.bytes;
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}

IpAddress Ipv4FromU32(uint32_t value) {
  IpAddress address;
  address.family = IpFamily::kIPv4;
  for (int i = 0; i < 4; ++i) address.bytes[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
  return address;
}

IpAddress AddressFromBytes(std::span<const uint8_t> bytes) {
  IpAddress address;
  address.family = bytes.size() == 4 ? IpFamily::kIPv4 : IpFamily::kIPv6;
  std::copy(bytes.begin(), bytes.end(), address.bytes.begin());
  return address;
}

std::span<const uint8_t> AddressBytes(const IpAddress& address) {
  return std::span<const uint8_t>(address.bytes.data(),
                                  address.family == IpFamily::kIPv4 ? 4 : 16);
}

size_t PrefixWireSize(const IpPrefix& prefix) { return 1 + (prefix.length + 7) / 8; }

void PutPrefix(std::vector<uint8_t>& out, const IpPrefix& prefix) {
  PutU8(out, static_cast<uint8_t>(prefix.length));
  PutBytes(out, std::span<const uint8_t>(prefix.address.bytes.data(), (prefix.length + 7) / 8));
}

bool ReadPrefixes(std::span<const uint8_t> bytes, IpFamily family, std::vector<IpPrefix>& out) {
  const int max_length = family == IpFamily::kIPv4 ? 32 : 128;
  Reader reader(bytes);
  while (!reader.empty()) {
    uint8_t length = 0;
    std::span<const uint8_t> octets;
    reader.U8(length);
    if (length > max_length || !reader.Bytes((length + 7) / 8, octets)) return false;
    IpPrefix prefix;
    prefix.address.family = family;
    prefix.length = length;
    std::copy(octets.begin(), octets.end(), prefix.address.bytes.begin());
    if (length % 8 != 0) {
      prefix.address.bytes[length / 8] &= static_cast<uint8_t>(0xff00 >> (length % 8));
    }
    out.push_back(prefix);
  }
  return true;
}

}  // namespace ferry::bgp::wire
