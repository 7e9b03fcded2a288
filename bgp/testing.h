// Helpers shared by bgp/'s tests: hand-built wire bytes and addresses.
#ifndef FERRY_BGP_TESTING_H_
#define FERRY_BGP_TESTING_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "bgp/message.h"
#include "gtest/gtest.h"

namespace ferry::bgp::testing {

// "ff 01 0a" -> {0xff, 0x01, 0x0a}; spaces are for the reader.
inline std::vector<uint8_t> Hex(absl::string_view text) {
  const std::string bytes = absl::HexStringToBytes(absl::StrReplaceAll(text, {{" ", ""}}));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

inline std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A message of `type` around `body`, with the header a correct sender writes.
inline std::vector<uint8_t> Frame(MessageType type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out(16, 0xff);
  const size_t length = kHeaderSize + body.size();
  out.push_back(static_cast<uint8_t>(length >> 8));
  out.push_back(static_cast<uint8_t>(length));
  out.push_back(static_cast<uint8_t>(type));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// One path attribute; the Extended Length bit in `flags` picks a 2-octet length.
inline std::vector<uint8_t> Attribute(uint8_t flags, uint8_t type, const std::vector<uint8_t>& value) {
  std::vector<uint8_t> out = {flags, type};
  if (flags & 0x10) out.push_back(static_cast<uint8_t>(value.size() >> 8));
  out.push_back(static_cast<uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

// A whole UPDATE from its three variable fields.
inline std::vector<uint8_t> UpdateBytes(const std::vector<uint8_t>& withdrawn,
                                        const std::vector<uint8_t>& attributes,
                                        const std::vector<uint8_t>& nlri) {
  std::vector<uint8_t> body;
  body.push_back(static_cast<uint8_t>(withdrawn.size() >> 8));
  body.push_back(static_cast<uint8_t>(withdrawn.size()));
  body.insert(body.end(), withdrawn.begin(), withdrawn.end());
  body.push_back(static_cast<uint8_t>(attributes.size() >> 8));
  body.push_back(static_cast<uint8_t>(attributes.size()));
  body.insert(body.end(), attributes.begin(), attributes.end());
  body.insert(body.end(), nlri.begin(), nlri.end());
  return Frame(MessageType::kUpdate, body);
}

inline IpAddress Address(absl::string_view text) { return *IpAddress::Parse(text); }
inline IpPrefix Prefix(absl::string_view text) { return *IpPrefix::Parse(text); }

// The decoded message, failing the test when decoding failed.
inline DecodedMessage MustDecode(const std::vector<uint8_t>& bytes, const CodecContext& context) {
  auto result = Decode(bytes, context);
  if (const auto* failure = std::get_if<DecodeError>(&result)) {
    ADD_FAILURE() << "decode failed: " << failure->reason;
    return DecodedMessage{KeepaliveMessage{}};
  }
  return std::get<DecodedMessage>(std::move(result));
}

}  // namespace ferry::bgp::testing

#endif  // FERRY_BGP_TESTING_H_
