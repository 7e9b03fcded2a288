#include "agent/ferryd/loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::ferryd {
namespace {

// -1 (no timeout) when nothing is due.
int PollTimeoutMs(absl::Time now, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(std::min(deadline - now, absl::Minutes(1))) + 1;
  return static_cast<int>(std::max<int64_t>(ms, 0));
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
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= source.Deadline()) {
      if (model::ChangeSet changes = source.Read(now); !changes.empty()) agent.Apply(changes);
      continue;
    }
    if (now >= agent.RetryAt()) {
      agent.Retry();
      continue;
    }
    std::array<pollfd, 2> fds = {pollfd{.fd = signals, .events = POLLIN, .revents = 0},
                                 pollfd{.fd = source.fd(), .events = POLLIN, .revents = 0}};
    const int ready = poll(fds.data(), fds.size(),
                           PollTimeoutMs(now, std::min(agent.RetryAt(), source.Deadline())));
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
  }
}

}  // namespace ferry::ferryd
