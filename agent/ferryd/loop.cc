#include "agent/ferryd/loop.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::ferryd {
namespace {

// Route and neighbour changes wait this long for the rest of their burst...
constexpr absl::Duration kRoutesSettle = absl::Milliseconds(50);
// ...and passes for them come at most this often.
constexpr absl::Duration kRoutesInterval = absl::Seconds(1);

// -1 (no timeout) when nothing is due.
int PollTimeoutMs(absl::Time now, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(std::min(deadline - now, absl::Minutes(1))) + 1;
  return static_cast<int>(std::max<int64_t>(ms, 0));
}

// Routes, neighbours and links of this namespace: a next hop that changes
// MAC, a route that moves, a pod's veth that appears.
absl::StatusOr<datapath::Fd> WatchRoutes() {
  datapath::Fd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "opening a netlink socket");
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return absl::ErrnoToStatus(errno, "subscribing to route, neighbour and link changes");
  }
  return fd;
}

// Reads every queued notification; true when one may change a next hop.
// Neighbours being resolved (or failing to be) are left out: the agent's
// own resolutions make those, and its retry timer already waits for them.
bool Drain(int fd) {
  alignas(nlmsghdr) std::array<char, 16384> buffer;
  bool relevant = false;
  for (ssize_t n; (n = recv(fd, buffer.data(), buffer.size(), 0)) > 0 || errno == ENOBUFS;) {
    if (n <= 0) {
      relevant = true;  // notifications were lost
      continue;
    }
    int left = static_cast<int>(n);
    for (auto* message = reinterpret_cast<const nlmsghdr*>(buffer.data()); NLMSG_OK(message, left);
         message = NLMSG_NEXT(message, left)) {
      if (message->nlmsg_type != RTM_NEWNEIGH && message->nlmsg_type != RTM_DELNEIGH) {
        relevant = true;
        continue;
      }
      const auto* neighbour = static_cast<const ndmsg*>(NLMSG_DATA(message));
      constexpr uint16_t kResolving = NUD_INCOMPLETE | NUD_FAILED | NUD_PROBE | NUD_DELAY;
      relevant = relevant || message->nlmsg_type == RTM_DELNEIGH ||
                 (neighbour->ndm_state & kResolving) == 0;
    }
  }
  return relevant;
}

}  // namespace

absl::StatusOr<datapath::Fd> BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
    return absl::ErrnoToStatus(errno, "blocking SIGTERM and SIGINT");
  }
  datapath::Fd fd(signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "signalfd");
  return fd;
}

absl::StatusOr<int> RunLoop(Agent& agent, sources::Source& source, int signals) {
  absl::StatusOr<datapath::Fd> routes = WatchRoutes();
  if (!routes.ok()) return routes.status();
  // What the kernel reports comes in bursts, and the agent's own
  // resolutions make some: at most one pass for them per interval.
  absl::Time routes_due = absl::InfiniteFuture();
  absl::Time routes_last = absl::InfinitePast();
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= source.Deadline()) {
      if (model::ChangeSet changes = source.Read(now); !changes.empty()) agent.Apply(changes);
      continue;
    }
    // The writer's requests are answered through the source's fd.
    if (now >= agent.TickAt()) agent.Tick(now);
    if (now >= std::min(agent.RetryAt(), routes_due)) {
      agent.Retry(now >= routes_due ? "routes" : "retry");
      routes_due = absl::InfiniteFuture();
      routes_last = absl::Now();
      continue;
    }
    std::array<pollfd, 3> fds = {pollfd{.fd = signals, .events = POLLIN, .revents = 0},
                                 pollfd{.fd = source.fd(), .events = POLLIN, .revents = 0},
                                 pollfd{.fd = routes->get(), .events = POLLIN, .revents = 0}};
    const absl::Time due =
        std::min({agent.RetryAt(), source.Deadline(), routes_due, agent.TickAt()});
    const int ready = poll(fds.data(), fds.size(), PollTimeoutMs(now, due));
    if (ready < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(signals, &info, sizeof(info)) == sizeof(info)) {
        std::fprintf(stderr, "ferryd: signal %u: exiting, programs stay attached and maps pinned\n",
                     info.ssi_signo);
        return static_cast<int>(info.ssi_signo);
      }
    }
    if (fds[1].revents & POLLIN) {
      if (model::ChangeSet changes = source.Read(absl::Now()); !changes.empty()) {
        agent.Apply(changes);
      }
    }
    if ((fds[2].revents & POLLIN) && Drain(routes->get())) {
      routes_due = std::min(routes_due, std::max(absl::Now() + kRoutesSettle,
                                                 routes_last + kRoutesInterval));
    }
  }
}

}  // namespace ferry::ferryd
