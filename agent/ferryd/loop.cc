#include "agent/ferryd/loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/datapath/fd.h"

namespace ferry::ferryd {
namespace {

constexpr uint32_t kManifestEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                     IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF;

absl::StatusOr<datapath::Fd> WatchDirectory(const std::filesystem::path& directory) {
  datapath::Fd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "inotify_init1");
  if (inotify_add_watch(fd.get(), directory.c_str(), kManifestEvents | IN_ONLYDIR) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("watching ", directory.string()));
  }
  return fd;
}

struct Drained {
  bool any = false;
  // The directory itself was removed or renamed: the watch is gone.
  bool watch_lost = false;
};

// Reads every queued event.
Drained Drain(int fd) {
  alignas(inotify_event) std::array<char, 16384> buffer;
  Drained drained;
  for (ssize_t n; (n = read(fd, buffer.data(), buffer.size())) > 0;) {
    drained.any = true;
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) drained.watch_lost = true;
      at += sizeof(inotify_event) + event->len;
    }
  }
  return drained;
}

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

absl::StatusOr<int> RunLoop(Agent& agent, const std::filesystem::path& manifests, int signals,
                     const LoopTiming& timing) {
  // Watch before the first load, so a change made during it is not missed.
  absl::StatusOr<datapath::Fd> watch = WatchDirectory(manifests);
  if (!watch.ok()) return watch.status();
  agent.Reload();

  absl::Time next_tick = absl::Now() + timing.tick;
  std::optional<absl::Time> first_change;
  absl::Time reload_at = absl::InfiniteFuture();
  auto changed = [&] {
    const absl::Time now = absl::Now();
    if (!first_change) first_change = now;
    reload_at = std::min(now + timing.debounce, *first_change + timing.max_delay);
  };
  for (;;) {
    const absl::Time now = absl::Now();
    if (first_change && now >= reload_at) {
      first_change.reset();
      reload_at = absl::InfiniteFuture();
      agent.Reload();
      next_tick = absl::Now() + timing.tick;
      continue;
    }
    if (now >= next_tick) {
      // A directory that was removed (or replaced by a rename) is watched
      // again once it is back; until then the last model stays programmed.
      if (!watch->valid()) {
        if (absl::StatusOr<datapath::Fd> again = WatchDirectory(manifests); again.ok()) {
          std::fprintf(stderr, "ferryd: manifest directory %s is back: reloading\n",
                       manifests.c_str());
          watch = std::move(again);
          changed();
        }
      }
      agent.Reconcile("tick");
      next_tick = absl::Now() + timing.tick;
      continue;
    }
    std::array<pollfd, 2> fds = {pollfd{.fd = signals, .events = POLLIN, .revents = 0},
                                 pollfd{.fd = watch->get(), .events = POLLIN, .revents = 0}};
    const int ready = poll(fds.data(), fds.size(), PollTimeoutMs(now, std::min(next_tick, reload_at)));
    if (ready < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(signals, &info, sizeof(info)) == sizeof(info)) {
        std::fprintf(stderr, "ferryd: signal %u: exiting, programs stay attached and maps pinned\n",
                     info.ssi_signo);
        return static_cast<int>(info.ssi_signo);
      }
    }
    if (!(fds[1].revents & POLLIN)) continue;
    const Drained drained = Drain(watch->get());
    if (drained.watch_lost) {
      std::fprintf(stderr,
                   "ferryd: manifest directory %s was removed or renamed: keeping the last "
                   "model programmed until it is back\n",
                   manifests.c_str());
      *watch = datapath::Fd();
    } else if (drained.any) {
      changed();
    }
  }
}

}  // namespace ferry::ferryd
