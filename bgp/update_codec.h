// The UPDATE body (RFC 4271 §4.3) with RFC 7606 error handling. Internal to
// bgp/: message.cc frames it.
#ifndef FERRY_BGP_UPDATE_CODEC_H_
#define FERRY_BGP_UPDATE_CODEC_H_

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "bgp/message.h"

namespace ferry::bgp {

void EncodeUpdateBody(const UpdateMessage& update, const CodecContext& context,
                      std::vector<uint8_t>& out);

std::variant<DecodedMessage, DecodeError> DecodeUpdateBody(std::span<const uint8_t> body,
                                                           const CodecContext& context);

}  // namespace ferry::bgp

#endif  // FERRY_BGP_UPDATE_CODEC_H_
