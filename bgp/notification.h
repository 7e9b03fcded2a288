// NOTIFICATIONs as a person reads them: the names the IANA registry gives
// each error code and subcode (RFC 4271 §4.5, RFC 4486, RFC 5492, RFC 6608,
// RFC 7313, RFC 8538, RFC 9384), so that "2/2" reads "Bad Peer AS".
#ifndef FERRY_BGP_NOTIFICATION_H_
#define FERRY_BGP_NOTIFICATION_H_

#include <cstdint>
#include <string>

#include "bgp/message.h"

namespace ferry::bgp {

// "OPEN Message Error / Bad Peer AS"; a code or subcode the registry does
// not name is given by its number ("Cease / subcode 42").
std::string NotificationName(uint8_t code, uint8_t subcode);

// "NOTIFICATION 6/2 (Cease / Administrative Shutdown): \"maintenance\"":
// the numbers, the names, and the reason a person wrote into a shutdown or
// reset (RFC 9003) when there is one.
std::string DescribeNotification(const NotificationMessage& notification);

}  // namespace ferry::bgp

#endif  // FERRY_BGP_NOTIFICATION_H_
