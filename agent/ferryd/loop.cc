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

int PollTimeoutMs(absl::Time now, absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - now) + 1;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
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

absl::StatusOr<int> RunLoop(Agent& agent, sources::Source& source, int signals,
                            const LoopTiming& timing) {
  absl::Time next_tick = absl::Now() + timing.tick;
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= source.Deadline()) {
      if (model::ChangeSet changes = source.Read(now); !changes.empty()) {
        agent.Apply(changes);
        next_tick = absl::Now() + timing.tick;
      }
      continue;
    }
    if (now >= next_tick) {
      agent.Reconcile("tick");
      next_tick = absl::Now() + timing.tick;
      continue;
    }
    std::array<pollfd, 2> fds = {pollfd{.fd = signals, .events = POLLIN, .revents = 0},
                                 pollfd{.fd = source.fd(), .events = POLLIN, .revents = 0}};
    const int ready =
        poll(fds.data(), fds.size(), PollTimeoutMs(now, std::min(next_tick, source.Deadline())));
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
        next_tick = absl::Now() + timing.tick;
      }
    }
  }
}

}  // namespace ferry::ferryd
