// Network namespaces for end-to-end tests: each test builds its own little
// network out of namespaces, veths and bridges, runs real processes in it and
// removes every trace of it afterwards, even when the test fails.
//
// Every name a test run creates carries RunPrefix() ("ft<pid>-"), so runs never
// collide and CleanUpStaleRuns() can find what a crashed run left behind.
#ifndef FERRY_TEST_E2E_NETNS_H_
#define FERRY_TEST_E2E_NETNS_H_

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::netns {

// "ft<pid>-": the prefix of every namespace, pin directory and scratch
// directory this process creates.
std::string RunPrefix();

// Where this run keeps captures and logs; created on first use, removed by
// CleanUpRun().
std::string ScratchDir();

// The BPF pin directory for one simulated node of this run:
// /sys/fs/bpf/ferry/<RunPrefix()><node>.
std::string PinDir(const std::string& node);

// Removes everything a run with this prefix created: kills the processes
// inside its namespaces (SIGTERM, then SIGKILL after a bounded wait), deletes
// the namespaces, its pin directories and its scratch directory.
absl::Status CleanUpRun(const std::string& prefix);

// CleanUpRun() for every run whose process is gone (prefixes "ft<pid>-" with
// no live <pid>). Runs of live processes, e.g. a colleague's concurrent test,
// are left alone. Returns the prefixes it removed.
absl::StatusOr<std::vector<std::string>> CleanUpStaleRuns();

class Namespace;

// Runs argv (no shell) to completion, inside `ns` when it is not null, and
// returns its standard output. Fails with the command line, the exit status
// and standard error when the command fails or outlives `timeout`.
absl::StatusOr<std::string> RunCommand(const Namespace* ns, const std::vector<std::string>& argv,
                                absl::Duration timeout = absl::Seconds(20));

// Runs fn on a dedicated thread that has entered the namespace (setns with
// CLONE_NEWNET), so sockets, netlink and BPF attachments fn makes belong to
// it. The calling thread stays where it is.
absl::Status RunIn(const Namespace& ns, const std::function<absl::Status()>& fn);

// An interface as seen inside its own namespace.
struct Interface {
  std::string name;
  int ifindex = 0;
  std::array<uint8_t, 6> mac{};
  std::string mac_text;
};

// A named network namespace, deleted (with everything running inside it) on
// destruction.
class Namespace {
 public:
  // Creates RunPrefix() + short_name, with IPv6 duplicate address detection
  // off (addresses are usable at once) and reverse-path filtering off.
  static absl::StatusOr<std::unique_ptr<Namespace>> Create(const std::string& short_name);
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const { return name_; }

  // `ip -n <ns> <args>`.
  absl::StatusOr<std::string> Ip(const std::vector<std::string>& args) const;
  // Writes /proc/sys/<key with dots as slashes> as seen from this namespace.
  absl::Status SetSysctl(const std::string& key, const std::string& value) const;
  absl::StatusOr<std::string> GetSysctl(const std::string& key) const;
  // Sets rp_filter=0 on every interface present now, plus "all" and
  // "default": DSR replies leave with a source (the VIP) the node does not
  // route back through the interface they came in on.
  absl::Status DisableRpFilter() const;
  // ip_forward and IPv6 forwarding on.
  absl::Status EnableForwarding() const;

  absl::Status AddBridge(const std::string& bridge) const;
  absl::Status SetMaster(const std::string& link, const std::string& bridge) const;
  // CIDR ("198.18.0.1/24", "2001:db8::1/64"); IPv6 addresses get nodad.
  absl::Status AddAddress(const std::string& link, const std::string& cidr) const;
  // `ip route add <route...>`, e.g. {"default", "via", "198.18.0.1"}.
  absl::Status AddRoute(const std::vector<std::string>& route) const;
  absl::Status SetUp(const std::string& link) const;
  absl::Status SetMtu(const std::string& link, int mtu) const;
  absl::StatusOr<Interface> Link(const std::string& link) const;

 private:
  explicit Namespace(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Creates a veth pair with one end in each namespace (they may be the same).
absl::Status AddVethPair(const Namespace& a, const std::string& name_a, const Namespace& b,
                         const std::string& name_b);

// A process running inside a namespace, stopped on destruction: SIGTERM to
// its process group, SIGKILL if it has not exited within the grace period.
class Process {
 public:
  // Standard output and error go to log_path.
  static absl::StatusOr<std::unique_ptr<Process>> Start(const Namespace& ns,
                                                        const std::vector<std::string>& argv,
                                                        const std::string& log_path);
  // In the test's own network namespace, for a server that listens on
  // loopback only (127.0.0.1 / ::1) and needs no topology.
  static absl::StatusOr<std::unique_ptr<Process>> StartOnLoopback(
      const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Stops the process; returns its exit status (or 128 + signal).
  absl::StatusOr<int> Stop(absl::Duration grace = absl::Seconds(3));
  // SIGKILL, as a crash or the OOM killer would end it: no cleanup runs.
  absl::StatusOr<int> Kill();
  const std::string& log_path() const { return log_path_; }
  std::string ReadLog() const;

 private:
  Process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  // netns_fd -1: the caller's namespace.
  static absl::StatusOr<std::unique_ptr<Process>> StartIn(int netns_fd,
                                                          const std::vector<std::string>& argv,
                                                          const std::string& log_path);
  // Sends `signal` to the process group, then SIGKILL after `grace`.
  absl::StatusOr<int> Signal(int signal, absl::Duration grace);
  pid_t pid_;
  std::string log_path_;
  int exit_status_ = -1;
};

// A packet capture on one interface of a namespace, written to a pcap file
// and read back through tcpdump's filters.
//
// The capture itself is an AF_PACKET socket read by a thread, not tcpdump:
// tcpdump (libpcap's TPACKET_V3 ring) leaves the last packets of a burst in
// a ring block that is only handed over when the block times out, and on
// kernel 6.18 that did not happen within seconds, so a stopped tcpdump lost
// them. A socket's queue is drained completely by Stop().
class Capture {
 public:
  // Captures every frame the interface sends or receives, as tcpdump would
  // (frames consumed by XDP on this interface are never seen).
  static absl::StatusOr<std::unique_ptr<Capture>> Start(const Namespace& ns,
                                                        const std::string& link);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Stops capturing once everything queued so far is written.
  absl::Status Stop();
  // Packets of the file that match `filter` (a pcap-filter expression, may be
  // empty), one decoded line each (tcpdump -nn -e -r). Stops first.
  absl::StatusOr<std::vector<std::string>> Read(const std::string& filter);
  absl::StatusOr<size_t> Count(const std::string& filter);
  // Frames the socket's queue had no room for (known after Stop()); a
  // capture that dropped frames cannot prove a packet was absent.
  uint64_t dropped_by_kernel() const { return dropped_; }
  const std::string& pcap_path() const { return pcap_path_; }

 private:
  Capture(int fd, std::string pcap_path);
  void Loop();

  int fd_;
  std::string pcap_path_;
  std::atomic<bool> stop_{false};
  std::thread reader_;
  absl::Status reader_status_;
  uint64_t dropped_ = 0;
};

}  // namespace ferry::netns

#endif  // FERRY_TEST_E2E_NETNS_H_
