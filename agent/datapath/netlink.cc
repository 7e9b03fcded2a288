#include "agent/datapath/netlink.h"

#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ferry::datapath {
namespace {

// The kernel's NUD_VALID (include/net/neighbour.h, not in uapi): states
// whose link-layer address may be used.
constexpr uint16_t kUsableNeighbourStates =
    NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
// A link dump of one interface can exceed the 8 KiB libmnl suggests.
constexpr size_t kReceiveBufferSize = 64 * 1024;

struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

// One request at a time over a NETLINK_ROUTE socket: each reply must carry
// the request's sequence number and our port id, and a request completes
// when the kernel's ack (requested with NLM_F_ACK) or its error arrives.
class RouteSocket {
 public:
  static absl::StatusOr<RouteSocket> Open() {
    std::unique_ptr<mnl_socket, SocketCloser> socket(mnl_socket_open(NETLINK_ROUTE));
    if (!socket) return absl::ErrnoToStatus(errno, "opening a NETLINK_ROUTE socket");
    if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
      return absl::ErrnoToStatus(errno, "binding a NETLINK_ROUTE socket");
    }
    return RouteSocket(std::move(socket));
  }

  // Starts a request of `type` in the buffer; append the family header and
  // attributes to the returned message, then Send it.
  nlmsghdr* Begin(uint16_t type) {
    request_.assign(MNL_SOCKET_BUFFER_SIZE, 0);
    nlmsghdr* message = mnl_nlmsg_put_header(request_.data());
    message->nlmsg_type = type;
    message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    message->nlmsg_seq = ++sequence_;
    return message;
  }

  // `on_reply` sees each reply message (not the ack). On a kernel error the
  // status carries its errno, described by `what`.
  absl::Status Send(const nlmsghdr* message, absl::string_view what, mnl_cb_t on_reply,
                    void* data) {
    if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("sending ", what));
    }
    const unsigned port_id = mnl_socket_get_portid(socket_.get());
    for (;;) {
      const ssize_t received =
          mnl_socket_recvfrom(socket_.get(), response_.data(), response_.size());
      if (received < 0) return absl::ErrnoToStatus(errno, absl::StrCat("receiving ", what));
      const int result =
          mnl_cb_run(response_.data(), received, message->nlmsg_seq, port_id, on_reply, data);
      if (result == MNL_CB_ERROR) return absl::ErrnoToStatus(errno, what);
      if (result == MNL_CB_STOP) return absl::OkStatus();
    }
  }

 private:
  explicit RouteSocket(std::unique_ptr<mnl_socket, SocketCloser> socket)
      : socket_(std::move(socket)),
        sequence_(static_cast<uint32_t>(time(nullptr))),
        response_(kReceiveBufferSize) {}

  std::unique_ptr<mnl_socket, SocketCloser> socket_;
  uint32_t sequence_;
  std::vector<char> request_;
  std::vector<char> response_;
};

size_t AddressLength(uint8_t family) { return family == FERRY_FAMILY_IPV4 ? 4 : 16; }
size_t AddressLength(const net::IpAddress& address) {
  return AddressLength(ToMapFamily(address.family));
}
int AddressFamily(const net::IpAddress& address) {
  return ToAddressFamily(ToMapFamily(address.family));
}

// Attributes of one reply, indexed by type; types above max_type ignored.
class Attributes {
 public:
  Attributes(const nlmsghdr* message, size_t header_size, uint16_t max_type)
      : table_(max_type + 1, nullptr) {
    mnl_attr_parse(message, header_size, &Attributes::Collect, this);
  }
  const nlattr* Get(uint16_t type) const { return table_[type]; }

 private:
  static int Collect(const nlattr* attr, void* data) {
    auto* self = static_cast<Attributes*>(data);
    const uint16_t type = mnl_attr_get_type(attr);
    if (type < self->table_.size()) self->table_[type] = attr;
    return MNL_CB_OK;
  }
  std::vector<const nlattr*> table_;
};

// Copies an address attribute; false if it is absent or the wrong length.
bool CopyAddress(const nlattr* attr, uint8_t family, ferry_addr* out) {
  if (attr == nullptr || mnl_attr_get_payload_len(attr) != AddressLength(family)) return false;
  std::memcpy(out->bytes, mnl_attr_get_payload(attr), AddressLength(family));
  return true;
}

struct Route {
  uint8_t family = FERRY_FAMILY_NONE;
  uint32_t oif = 0;
  bool has_gateway = false;
  bool via_other_family = false;
  ferry_addr gateway{};
  ferry_addr preferred_source{};
  bool has_source = false;
};

int OnRoute(const nlmsghdr* message, void* data) {
  auto* route = static_cast<Route*>(data);
  const Attributes attrs(message, sizeof(rtmsg), RTA_MAX);
  if (const nlattr* oif = attrs.Get(RTA_OIF)) route->oif = mnl_attr_get_u32(oif);
  route->has_gateway = CopyAddress(attrs.Get(RTA_GATEWAY), route->family, &route->gateway);
  route->has_source =
      CopyAddress(attrs.Get(RTA_PREFSRC), route->family, &route->preferred_source);
  route->via_other_family = attrs.Get(RTA_VIA) != nullptr;
  return MNL_CB_OK;
}

struct Neighbour {
  uint8_t family = FERRY_FAMILY_NONE;
  uint16_t state = 0;
  bool has_mac = false;
  uint8_t mac[ETH_ALEN] = {};
};

bool CopyMac(const nlattr* attr, uint8_t* mac) {
  if (attr == nullptr || mnl_attr_get_payload_len(attr) != ETH_ALEN) return false;
  std::memcpy(mac, mnl_attr_get_payload(attr), ETH_ALEN);
  return true;
}

int OnNeighbour(const nlmsghdr* message, void* data) {
  auto* neighbour = static_cast<Neighbour*>(data);
  neighbour->state = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(message))->ndm_state;
  const Attributes attrs(message, sizeof(ndmsg), NDA_MAX);
  neighbour->has_mac = CopyMac(attrs.Get(NDA_LLADDR), neighbour->mac);
  return MNL_CB_OK;
}

struct Link {
  bool has_mac = false;
  uint8_t mac[ETH_ALEN] = {};
};

int OnLink(const nlmsghdr* message, void* data) {
  auto* link = static_cast<Link*>(data);
  const Attributes attrs(message, sizeof(ifinfomsg), IFLA_MAX);
  link->has_mac = CopyMac(attrs.Get(IFLA_ADDRESS), link->mac);
  return MNL_CB_OK;
}

absl::StatusOr<Route> GetRoute(RouteSocket& socket, const net::IpAddress& destination) {
  const std::string text = destination.ToString();
  nlmsghdr* message = socket.Begin(RTM_GETROUTE);
  auto* header = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  header->rtm_family = AddressFamily(destination);
  header->rtm_dst_len = 8 * AddressLength(destination);
  mnl_attr_put(message, RTA_DST, AddressLength(destination), destination.bytes.data());
  Route route{.family = ToMapFamily(destination.family)};
  absl::Status status =
      socket.Send(message, absl::StrCat("route lookup for ", text), OnRoute, &route);
  if (absl::IsUnavailable(status)) {
    // ENETUNREACH and EHOSTUNREACH map to Unavailable: say what it means here.
    return absl::NotFoundError(absl::StrCat("no route to ", text, ": ", status.message()));
  }
  if (!status.ok()) return status;
  if (route.via_other_family) {
    return absl::UnimplementedError(
        absl::StrCat("the route to ", text, " has a gateway of another family (RTA_VIA)"));
  }
  if (route.oif == 0 || !route.has_source) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the route to ", text, " has no output interface or source address"));
  }
  return route;
}

// Asks the kernel to resolve next_hop as a packet to it would (NTF_USE):
// the entry is created if missing, and a new or FAILED one goes INCOMPLETE
// and sends an ARP request or neighbour solicitation. Often nothing else
// would: after a link flap flushed the table, the datapath's tunnels to other
// nodes leave from XDP, unseen by the neighbour table. (XDP's fallback, TC's
// bpf_redirect_neigh, resolves per packet; with the MACs written here XDP
// needs neither the fallback nor a FIB lookup.)
absl::Status RequestResolution(RouteSocket& socket, const net::IpAddress& next_hop,
                               uint32_t ifindex) {
  nlmsghdr* message = socket.Begin(RTM_NEWNEIGH);
  message->nlmsg_flags |= NLM_F_CREATE;
  auto* header = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ndmsg)));
  header->ndm_family = AddressFamily(next_hop);
  header->ndm_ifindex = static_cast<int>(ifindex);
  header->ndm_flags = NTF_USE;
  mnl_attr_put(message, NDA_DST, AddressLength(next_hop), next_hop.bytes.data());
  return socket.Send(message,
                     absl::StrCat("a resolution request for next hop ", next_hop.ToString()),
                     nullptr, nullptr);
}

// Unavailable while the entry is missing or not resolved; the kernel is
// then asked to resolve it, so a later call finds it.
absl::StatusOr<Neighbour> GetNeighbour(RouteSocket& socket, const net::IpAddress& next_hop,
                                       uint32_t ifindex) {
  const std::string text = next_hop.ToString();
  nlmsghdr* message = socket.Begin(RTM_GETNEIGH);
  auto* header = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ndmsg)));
  header->ndm_family = AddressFamily(next_hop);
  header->ndm_ifindex = ifindex;
  mnl_attr_put(message, NDA_DST, AddressLength(next_hop), next_hop.bytes.data());
  Neighbour neighbour{.family = ToMapFamily(next_hop.family)};
  absl::Status status = socket.Send(message, absl::StrCat("neighbour lookup for ", text),
                                    OnNeighbour, &neighbour);
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  if (status.ok() && (neighbour.state & kUsableNeighbourStates) != 0 && neighbour.has_mac) {
    return neighbour;
  }
  const std::string found =
      status.ok() ? absl::StrCat("is not resolved (NUD state 0x", absl::Hex(neighbour.state), ")")
                  : "is missing";
  const absl::Status requested = RequestResolution(socket, next_hop, ifindex);
  return absl::UnavailableError(absl::StrCat(
      "neighbour entry for next hop ", text, " on ifindex ", ifindex, " ", found,
      requested.ok() ? ": resolution requested, retry shortly"
                     : absl::StrCat("; requesting its resolution failed: ", requested.message())));
}

struct ClsactQuery {
  uint32_t ifindex = 0;
  bool found = false;
};

int OnQdisc(const nlmsghdr* message, void* data) {
  auto* query = static_cast<ClsactQuery*>(data);
  const auto* header = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(message));
  if (static_cast<uint32_t>(header->tcm_ifindex) != query->ifindex ||
      header->tcm_parent != TC_H_CLSACT) {
    return MNL_CB_OK;
  }
  const Attributes attrs(message, sizeof(tcmsg), TCA_MAX);
  const nlattr* kind = attrs.Get(TCA_KIND);
  query->found =
      query->found || (kind != nullptr && std::strcmp(mnl_attr_get_str(kind), "clsact") == 0);
  return MNL_CB_OK;
}

absl::StatusOr<Link> GetLink(RouteSocket& socket, uint32_t ifindex) {
  nlmsghdr* message = socket.Begin(RTM_GETLINK);
  auto* header = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  header->ifi_family = AF_UNSPEC;
  header->ifi_index = static_cast<int>(ifindex);
  Link link;
  absl::Status status =
      socket.Send(message, absl::StrCat("link lookup for ifindex ", ifindex), OnLink, &link);
  if (!status.ok()) return status;
  if (!link.has_mac) {
    return absl::FailedPreconditionError(
        absl::StrCat("output interface ", ifindex, " has no Ethernet address"));
  }
  return link;
}

}  // namespace

absl::StatusOr<ferry_node> ResolveNode(const net::IpAddress& destination) {
  absl::StatusOr<RouteSocket> socket = RouteSocket::Open();
  if (!socket.ok()) return socket.status();
  absl::StatusOr<Route> route = GetRoute(*socket, destination);
  if (!route.ok()) return route.status();
  net::IpAddress next_hop = destination;
  if (route->has_gateway) {
    std::memcpy(next_hop.bytes.data(), route->gateway.bytes, next_hop.bytes.size());
  }
  absl::StatusOr<Neighbour> neighbour = GetNeighbour(*socket, next_hop, route->oif);
  if (!neighbour.ok()) return neighbour.status();
  absl::StatusOr<Link> link = GetLink(*socket, route->oif);
  if (!link.ok()) return link.status();

  ferry_node node{};
  node.tunnel_dst = ToMapKey(destination).addr;
  node.tunnel_src = route->preferred_source;
  std::memcpy(node.next_hop_mac, neighbour->mac, ETH_ALEN);
  std::memcpy(node.source_mac, link->mac, ETH_ALEN);
  node.egress_ifindex = route->oif;
  node.family = ToMapFamily(destination.family);
  return node;
}

absl::StatusOr<bool> HasClsactQdisc(uint32_t ifindex) {
  absl::StatusOr<RouteSocket> socket = RouteSocket::Open();
  if (!socket.ok()) return socket.status();
  nlmsghdr* message = socket->Begin(RTM_GETQDISC);
  message->nlmsg_flags |= NLM_F_DUMP;
  auto* header = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(tcmsg)));
  header->tcm_family = AF_UNSPEC;
  header->tcm_ifindex = static_cast<int>(ifindex);
  ClsactQuery query{.ifindex = ifindex};
  absl::Status status =
      socket->Send(message, absl::StrCat("qdisc dump for ifindex ", ifindex), OnQdisc, &query);
  if (!status.ok()) return status;
  return query.found;
}

}  // namespace ferry::datapath
