#include "test/e2e/netns.h"

#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "test/e2e/status_macros.h"

namespace ferry::netns {
namespace {

namespace fs = std::filesystem;

constexpr char kNetnsDir[] = "/run/netns";
constexpr char kPinRoot[] = "/sys/fs/bpf/ferry";
constexpr char kScratchRoot[] = "/tmp";
constexpr char kScratchSuffix[] = "e2e";
constexpr absl::Duration kKillGrace = absl::Seconds(2);
constexpr absl::Duration kKillDeadline = absl::Seconds(5);
constexpr uint32_t kCaptureSnaplen = 65535;
constexpr int kCaptureBuffer = 64 << 20;

std::string ErrnoText(const std::string& what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

// Closes its descriptor when it goes out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string NetnsPath(const std::string& name) { return absl::StrCat(kNetnsDir, "/", name); }

// A zombie counts as gone: a killed test run is one until its parent reaps it.
bool ProcessAlive(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t end_of_name = text.rfind(") ");
  return end_of_name != std::string::npos && text[end_of_name + 2] != 'Z';
}

// Waits for a child without blocking past the deadline; returns its status
// (exit code, or 128 + signal) or nullopt if still running.
std::optional<int> WaitChild(pid_t pid, absl::Time deadline) {
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) return -1;  // not our child any more
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

struct ChildSetup {
  int netns_fd = -1;  // -1: stay in the current namespace
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool own_process_group = false;
};

// fork + exec with only async-signal-safe calls in the child: the parent
// may have other threads.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const ChildSetup& setup) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    close(devnull);
    return absl::InternalError(ErrnoText("fork"));
  }
  if (pid == 0) {
    if (setup.own_process_group) setpgid(0, 0);
    if (setup.netns_fd >= 0 && setns(setup.netns_fd, CLONE_NEWNET) != 0) _exit(126);
    dup2(devnull, 0);
    if (setup.stdout_fd >= 0) dup2(setup.stdout_fd, 1);
    if (setup.stderr_fd >= 0) dup2(setup.stderr_fd, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(devnull);
  return pid;
}

absl::StatusOr<int> OpenNetns(const Namespace& ns) {
  int fd = open(NetnsPath(ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(ErrnoText(absl::StrCat("namespace ", ns.name())));
  return fd;
}

// Processes whose network namespace is the named one.
std::vector<pid_t> ProcessesIn(const std::string& netns_name) {
  struct stat target;
  std::vector<pid_t> pids;
  if (stat(NetnsPath(netns_name).c_str(), &target) != 0) return pids;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    pid_t pid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc()) continue;
    struct stat st;
    if (stat(absl::StrCat("/proc/", pid, "/ns/net").c_str(), &st) != 0) continue;
    if (st.st_ino == target.st_ino && st.st_dev == target.st_dev) pids.push_back(pid);
  }
  return pids;
}

// SIGTERM, then SIGKILL after kKillGrace, until nothing runs in the
// namespace or kKillDeadline passes.
absl::Status KillProcessesIn(const std::string& netns_name) {
  const absl::Time start = absl::Now();
  bool killed = false;
  std::set<pid_t> signalled;
  while (true) {
    std::vector<pid_t> pids = ProcessesIn(netns_name);
    if (pids.empty()) return absl::OkStatus();
    if (absl::Now() - start > kKillDeadline) {
      return absl::DeadlineExceededError(absl::StrCat("processes still running in ", netns_name,
                                                      ": ", absl::StrJoin(pids, ",")));
    }
    const bool escalate = absl::Now() - start > kKillGrace;
    for (pid_t pid : pids) {
      if (escalate && !killed) {
        kill(pid, SIGKILL);
      } else if (signalled.insert(pid).second) {
        kill(pid, SIGTERM);
      }
    }
    killed = killed || escalate;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status DeleteNamespace(const std::string& netns_name) {
  absl::Status killed = KillProcessesIn(netns_name);
  absl::StatusOr<std::string> deleted = RunCommand(nullptr, {"ip", "netns", "del", std::string(netns_name)});
  if (!killed.ok()) return killed;
  return deleted.status();
}

std::string SysctlPath(const std::string& key) {
  return absl::StrCat("/proc/sys/", absl::StrReplaceAll(key, {{".", "/"}}));
}

// The pid inside a "ft<pid>-" prefix, if `name` starts with one.
std::optional<std::pair<std::string, pid_t>> ParseRunPrefix(const std::string& name) {
  static const std::regex kPrefix("^ft([0-9]+)-");
  std::smatch m;
  if (!std::regex_search(name, m, kPrefix)) return std::nullopt;
  return std::make_pair(m[0].str(), static_cast<pid_t>(std::stol(m[1].str())));
}

absl::StatusOr<std::string> ReadAll(int fd_out, int fd_err, pid_t pid, absl::Time deadline,
                                    std::string& err) {
  std::string out;
  pollfd fds[2] = {{fd_out, POLLIN, 0}, {fd_err, POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      kill(pid, SIGKILL);
      return absl::DeadlineExceededError("timed out");
    }
    if (poll(fds, 2, static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
      return absl::InternalError(ErrnoText("poll"));
    }
    for (pollfd& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p.fd, buf, sizeof(buf));
      if (n > 0) {
        (p.fd == fd_out ? out : err).append(buf, n);
      } else if (n == 0 || errno != EINTR) {
        p.fd = -1;
        --open_fds;
      }
    }
  }
  return out;
}

}  // namespace

std::string RunPrefix() { return absl::StrCat("ft", getpid(), "-"); }

std::string ScratchDir() {
  std::string dir = absl::StrCat(kScratchRoot, "/", RunPrefix(), kScratchSuffix);
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir;
}

std::string PinDir(const std::string& node) {
  return absl::StrCat(kPinRoot, "/", RunPrefix(), node);
}

absl::Status CleanUpRun(const std::string& prefix) {
  absl::Status status;
  std::error_code ec;
  std::vector<std::string> namespaces;
  for (const fs::directory_entry& e : fs::directory_iterator(kNetnsDir, ec)) {
    std::string name = e.path().filename();
    if (name.starts_with(prefix)) namespaces.push_back(name);
  }
  for (const std::string& name : namespaces) status.Update(DeleteNamespace(name));
  for (const char* root : {kPinRoot, kScratchRoot}) {
    for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
      if (!std::string(e.path().filename()).starts_with(prefix)) continue;
      std::error_code rm;
      fs::remove_all(e.path(), rm);
      if (rm) status.Update(absl::InternalError(absl::StrCat("removing ", e.path().string(), ": ",
                                                             rm.message())));
    }
  }
  return status;
}

absl::StatusOr<std::vector<std::string>> CleanUpStaleRuns() {
  std::set<std::string> stale;
  std::error_code ec;
  for (const char* root : {kNetnsDir, kPinRoot, kScratchRoot}) {
    for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
      auto prefix = ParseRunPrefix(e.path().filename());
      if (prefix && !ProcessAlive(prefix->second)) stale.insert(prefix->first);
    }
  }
  absl::Status status;
  for (const std::string& prefix : stale) status.Update(CleanUpRun(prefix));
  if (!status.ok()) return status;
  return std::vector<std::string>(stale.begin(), stale.end());
}

absl::StatusOr<std::string> RunCommand(const Namespace* ns, const std::vector<std::string>& argv,
                                absl::Duration timeout) {
  const std::string what =
      absl::StrCat("`", absl::StrJoin(argv, " "), "`", ns ? absl::StrCat(" in ", ns->name()) : "");
  UniqueFd netns_fd;
  if (ns != nullptr) {
    absl::StatusOr<int> fd = OpenNetns(*ns);
    if (!fd.ok()) return fd.status();
    netns_fd.reset(*fd);
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError(ErrnoText("pipe"));
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return absl::InternalError(ErrnoText("pipe"));
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  absl::StatusOr<pid_t> pid = Spawn(
      argv, {.netns_fd = netns_fd.get(), .stdout_fd = out_write.get(), .stderr_fd = err_write.get()});
  if (!pid.ok()) return pid.status();
  // Only the child holds the write ends now, so EOF means it is done.
  out_write.reset();
  err_write.reset();
  std::string err;
  absl::StatusOr<std::string> out =
      ReadAll(out_read.get(), err_read.get(), *pid, absl::Now() + timeout, err);
  std::optional<int> exit_status = WaitChild(*pid, absl::Now() + timeout);
  if (!exit_status) {
    kill(*pid, SIGKILL);
    exit_status = WaitChild(*pid, absl::InfiniteFuture());
  }
  if (!out.ok()) {
    return absl::Status(out.status().code(), absl::StrCat(what, ": ", out.status().message()));
  }
  if (*exit_status != 0) {
    return absl::InternalError(absl::StrCat(what, " exited with ", *exit_status, ": ",
                                            absl::StripAsciiWhitespace(err)));
  }
  return out;
}

absl::Status RunIn(const Namespace& ns, const std::function<absl::Status()>& fn) {
  absl::Status status;
  std::thread worker([&] {
    absl::StatusOr<int> fd = OpenNetns(ns);
    if (!fd.ok()) {
      status = fd.status();
      return;
    }
    UniqueFd netns(*fd);
    const bool entered = setns(netns.get(), CLONE_NEWNET) == 0;
    if (!entered) status = absl::InternalError(ErrnoText(absl::StrCat("setns ", ns.name())));
    if (entered) status = fn();
  });
  worker.join();
  return status;
}

absl::StatusOr<std::unique_ptr<Namespace>> Namespace::Create(const std::string& short_name) {
  std::string name = RunPrefix() + std::string(short_name);
  if (absl::StatusOr<std::string> added = RunCommand(nullptr, {"ip", "netns", "add", name}); !added.ok()) {
    return added.status();
  }
  // From here on the destructor removes the namespace if set-up fails.
  std::unique_ptr<Namespace> ns(new Namespace(std::move(name)));
  for (const char* key : {"net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"}) {
    if (absl::Status s = ns->SetSysctl(key, "0"); !s.ok()) return s;
  }
  if (absl::Status s = ns->DisableRpFilter(); !s.ok()) return s;
  if (absl::Status s = ns->SetUp("lo"); !s.ok()) return s;
  return ns;
}

Namespace::~Namespace() { DeleteNamespace(name_).IgnoreError(); }

absl::StatusOr<std::string> Namespace::Ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(nullptr, argv);
}

absl::Status Namespace::SetSysctl(const std::string& key, const std::string& value) const {
  const std::string path = SysctlPath(key);
  return RunIn(*this, [&]() -> absl::Status {
    std::ofstream file(path);
    file << value;
    file.close();
    if (!file) return absl::InternalError(absl::StrCat("writing ", value, " to ", path, " in ", name_));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> Namespace::GetSysctl(const std::string& key) const {
  const std::string path = SysctlPath(key);
  std::string value;
  absl::Status status = RunIn(*this, [&]() -> absl::Status {
    std::ifstream file(path);
    if (!std::getline(file, value)) return absl::NotFoundError(absl::StrCat(path, " in ", name_));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return value;
}

absl::Status Namespace::DisableRpFilter() const {
  return RunIn(*this, [&]() -> absl::Status {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator("/proc/sys/net/ipv4/conf", ec)) {
      std::ofstream file(e.path() / "rp_filter");
      file << "0";
      file.close();
      if (!file) return absl::InternalError(absl::StrCat("rp_filter of ", e.path().string()));
    }
    if (ec) return absl::InternalError(absl::StrCat("listing /proc/sys/net/ipv4/conf: ", ec.message()));
    return absl::OkStatus();
  });
}

absl::Status Namespace::EnableForwarding() const {
  for (const char* key : {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}) {
    if (absl::Status s = SetSysctl(key, "1"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Namespace::AddBridge(const std::string& bridge) const {
  // forward_delay 0: without STP a port forwards at once anyway, but say so.
  return Ip({"link", "add", std::string(bridge), "type", "bridge", "forward_delay", "0"}).status();
}

absl::Status Namespace::SetMaster(const std::string& link, const std::string& bridge) const {
  return Ip({"link", "set", std::string(link), "master", std::string(bridge)}).status();
}

absl::Status Namespace::AddAddress(const std::string& link, const std::string& cidr) const {
  std::vector<std::string> args = {"addr", "add", std::string(cidr), "dev", std::string(link)};
  if (cidr.find(':') != std::string::npos) args.push_back("nodad");
  return Ip(args).status();
}

absl::Status Namespace::AddRoute(const std::vector<std::string>& route) const {
  std::vector<std::string> args = {"route", "add"};
  // ip infers no family from "default": say -6 when the gateway is IPv6.
  for (const std::string& word : route) {
    if (word.find(':') != std::string::npos) {
      args.insert(args.begin(), "-6");
      break;
    }
  }
  args.insert(args.end(), route.begin(), route.end());
  return Ip(args).status();
}

absl::Status Namespace::SetUp(const std::string& link) const {
  return Ip({"link", "set", std::string(link), "up"}).status();
}

absl::Status Namespace::SetMtu(const std::string& link, int mtu) const {
  return Ip({"link", "set", std::string(link), "mtu", absl::StrCat(mtu)}).status();
}

absl::StatusOr<Interface> Namespace::Link(const std::string& link) const {
  absl::StatusOr<std::string> out = Ip({"-j", "link", "show", "dev", std::string(link)});
  if (!out.ok()) return out.status();
  nlohmann::json parsed = nlohmann::json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.empty() || !parsed[0].contains("ifindex") ||
      !parsed[0].contains("address")) {
    return absl::InternalError(absl::StrCat("unexpected `ip -j link` output for ", link, " in ",
                                            name_, ": ", *out));
  }
  Interface info;
  info.name = std::string(link);
  info.ifindex = parsed[0]["ifindex"].get<int>();
  info.mac_text = parsed[0]["address"].get<std::string>();
  std::vector<std::string> octets = absl::StrSplit(info.mac_text, ':');
  if (octets.size() != 6) return absl::InternalError(absl::StrCat("bad MAC ", info.mac_text));
  for (size_t i = 0; i < 6; ++i) info.mac[i] = static_cast<uint8_t>(std::stoul(octets[i], nullptr, 16));
  return info;
}

absl::Status AddVethPair(const Namespace& a, const std::string& name_a, const Namespace& b,
                         const std::string& name_b) {
  return a
      .Ip({"link", "add", std::string(name_a), "type", "veth", "peer", "name", std::string(name_b),
           "netns", b.name()})
      .status();
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(const Namespace& ns,
                                                        const std::vector<std::string>& argv,
                                                        const std::string& log_path) {
  absl::StatusOr<int> netns_fd = OpenNetns(ns);
  if (!netns_fd.ok()) return netns_fd.status();
  UniqueFd netns(*netns_fd);
  return StartIn(netns.get(), argv, log_path);
}

absl::StatusOr<std::unique_ptr<Process>> Process::StartOnLoopback(
    const std::vector<std::string>& argv, const std::string& log_path) {
  return StartIn(-1, argv, log_path);
}

absl::StatusOr<std::unique_ptr<Process>> Process::StartIn(int netns_fd,
                                                          const std::vector<std::string>& argv,
                                                          const std::string& log_path) {
  UniqueFd log_fd(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (log_fd.get() < 0) return absl::InternalError(ErrnoText(absl::StrCat("opening ", log_path)));
  absl::StatusOr<pid_t> pid = Spawn(argv, {.netns_fd = netns_fd,
                                           .stdout_fd = log_fd.get(),
                                           .stderr_fd = log_fd.get(),
                                           .own_process_group = true});
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<Process>(new Process(*pid, log_path));
}

Process::~Process() { Stop().IgnoreError(); }

bool Process::Running() {
  if (exit_status_ >= 0) return false;
  std::optional<int> status = WaitChild(pid_, absl::Now());
  if (status) exit_status_ = *status;
  return !status.has_value();
}

absl::StatusOr<int> Process::Stop(absl::Duration grace) { return Signal(SIGTERM, grace); }

absl::StatusOr<int> Process::Kill() { return Signal(SIGKILL, absl::InfiniteDuration()); }

absl::StatusOr<int> Process::Signal(int signal, absl::Duration grace) {
  if (!Running()) return exit_status_;
  kill(-pid_, signal);
  std::optional<int> status = WaitChild(pid_, absl::Now() + grace);
  if (!status) {
    kill(-pid_, SIGKILL);
    status = WaitChild(pid_, absl::InfiniteFuture());
  }
  exit_status_ = *status;
  return exit_status_;
}

std::string Process::ReadLog() const {
  std::ifstream file(log_path_);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

namespace {

// The classic pcap file format (microsecond timestamps, Ethernet).
struct PcapFileHeader {
  uint32_t magic = 0xa1b2c3d4;
  uint16_t version_major = 2;
  uint16_t version_minor = 4;
  int32_t thiszone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen = kCaptureSnaplen;
  uint32_t linktype = 1;  // LINKTYPE_ETHERNET
};
struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_usec;
  uint32_t incl_len;
  uint32_t orig_len;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Capture>> Capture::Start(const Namespace& ns,
                                                        const std::string& link) {
  static std::atomic<int> sequence{0};
  const std::string pcap = absl::StrCat(ScratchDir(), "/", ns.name(), "-", link, "-",
                                        sequence++, ".pcap");
  // The socket belongs to the namespace it is created in.
  int fd = -1;
  FERRY_RETURN_IF_ERROR(RunIn(ns, [&]() -> absl::Status {
    const unsigned ifindex = if_nametoindex(link.c_str());
    if (ifindex == 0) return absl::NotFoundError(ErrnoText(absl::StrCat(link, " in ", ns.name())));
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return absl::InternalError(ErrnoText("AF_PACKET socket"));
    sockaddr_ll address = {};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(ifindex);
    const int buffer = kCaptureBuffer;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer));
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return absl::InternalError(ErrnoText(absl::StrCat("binding a capture to ", link)));
    }
    return absl::OkStatus();
  }));
  return std::unique_ptr<Capture>(new Capture(fd, pcap));
}

Capture::Capture(int fd, std::string pcap_path) : fd_(fd), pcap_path_(std::move(pcap_path)) {
  reader_ = std::thread([this] { Loop(); });
}

Capture::~Capture() { Stop().IgnoreError(); }

void Capture::Loop() {
  std::ofstream out(pcap_path_, std::ios::binary | std::ios::trunc);
  const PcapFileHeader header;
  out.write(reinterpret_cast<const char*>(&header), sizeof(header));
  std::vector<char> frame(kCaptureSnaplen);
  // After a stop request, read on until the queue is empty.
  while (true) {
    const bool stopping = stop_.load();
    pollfd p = {fd_, POLLIN, 0};
    if (!stopping && poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd_, frame.data(), frame.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EAGAIN && stopping) break;
      if (errno == EAGAIN || errno == EINTR) continue;
      reader_status_ = absl::InternalError(ErrnoText("reading the capture socket"));
      break;
    }
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const uint32_t kept = std::min<uint32_t>(static_cast<uint32_t>(n), kCaptureSnaplen);
    const PcapRecordHeader record = {static_cast<uint32_t>(now.tv_sec),
                                     static_cast<uint32_t>(now.tv_nsec / 1000), kept,
                                     static_cast<uint32_t>(n)};
    out.write(reinterpret_cast<const char*>(&record), sizeof(record));
    out.write(frame.data(), kept);
  }
  out.close();
  if (!out && reader_status_.ok()) reader_status_ = absl::InternalError("writing " + pcap_path_);
}

absl::Status Capture::Stop() {
  if (!reader_.joinable()) return reader_status_;
  stop_ = true;
  reader_.join();
  tpacket_stats stats = {};
  socklen_t len = sizeof(stats);
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0) dropped_ = stats.tp_drops;
  close(fd_);
  return reader_status_;
}

absl::StatusOr<std::vector<std::string>> Capture::Read(const std::string& filter) {
  FERRY_RETURN_IF_ERROR(Stop());
  std::vector<std::string> argv = {"tcpdump", "-nn", "-e", "-r", pcap_path_};
  if (!filter.empty()) argv.push_back(filter);
  FERRY_ASSIGN_OR_RETURN(std::string out, RunCommand(nullptr, argv));
  return std::vector<std::string>(absl::StrSplit(out, '\n', absl::SkipEmpty()));
}

absl::StatusOr<size_t> Capture::Count(const std::string& filter) {
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> lines, Read(filter));
  return lines.size();
}

}  // namespace ferry::netns
