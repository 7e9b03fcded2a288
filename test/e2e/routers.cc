#include "test/e2e/routers.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "test/e2e/status_macros.h"

namespace ferry::netns {
namespace {

namespace fs = std::filesystem;

constexpr char kFrrDir[] = "/usr/lib/frr";
constexpr char kFrrUser[] = "frr";
constexpr absl::Duration kStartTimeout = absl::Seconds(10);

absl::Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("writing ", path.string()));
  return absl::OkStatus();
}

// A daemon is ready once it has created `path` (a socket); fails early with
// its log when it exits first.
absl::Status WaitForPath(const fs::path& path, Process& daemon) {
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (!fs::exists(path)) {
    if (!daemon.Running()) {
      return absl::InternalError(absl::StrCat("the router daemon exited before creating ",
                                              path.string(), ": ", daemon.ReadLog()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(path.string(), " did not appear within ", absl::FormatDuration(kStartTimeout),
                       ": ", daemon.ReadLog()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

// ScratchDir()/<name>-<kind>, created.
absl::StatusOr<std::string> MakeRouterDir(const BgpRouterOptions& options, const std::string& kind) {
  const std::string dir = absl::StrCat(ScratchDir(), "/", options.name, "-", kind);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  return dir;
}

std::vector<std::string> IpFamilyArgs(const std::string& prefix) {
  if (absl::StrContains(prefix, ':')) return {"-6", "-j"};
  return {"-4", "-j"};
}

absl::StatusOr<nlohmann::json> IpJson(const Namespace& ns, std::vector<std::string> args) {
  FERRY_ASSIGN_OR_RETURN(std::string out, ns.Ip(args));
  nlohmann::json parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return absl::InternalError(absl::StrCat("unexpected output of `ip ", absl::StrJoin(args, " "),
                                            "` in ", ns.name(), ": ", out));
  }
  return parsed;
}

// The daemons of one router and the directory they keep their files in.
class DaemonRouter : public BgpRouter {
 public:
  ~DaemonRouter() override {
    // Last started, first stopped: bgpd before the zebra it talks to.
    while (!daemons_.empty()) daemons_.pop_back();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string Log() const override {
    std::string text;
    for (const auto& daemon : daemons_) {
      absl::StrAppend(&text, "--- ", daemon->log_path(), "\n", daemon->ReadLog());
    }
    return text;
  }

 protected:
  DaemonRouter(const Namespace& ns, const std::string& dir) : ns_(ns), dir_(dir) {}

  // Starts a daemon and waits for it to create `ready_path`.
  absl::Status StartDaemon(const std::string& name, const std::vector<std::string>& argv,
                           const fs::path& ready_path) {
    FERRY_ASSIGN_OR_RETURN(std::unique_ptr<Process> daemon,
                           Process::Start(ns_, argv, (dir_ / (name + ".log")).string()));
    daemons_.push_back(std::move(daemon));
    return WaitForPath(ready_path, *daemons_.back());
  }

  const Namespace& ns_;
  const fs::path dir_;
  std::vector<std::unique_ptr<Process>> daemons_;
};

std::string FrrConfig(const BgpRouterOptions& options) {
  std::string neighbors;
  std::string activate;
  const auto neighbor = [&](const std::string& who, const std::string& remote_as,
                            const std::string& password) {
    absl::StrAppend(&neighbors, " neighbor ", who, " remote-as ", remote_as, "\n", " neighbor ", who,
                    " timers connect ", options.connect_retry, "\n");
    if (!password.empty()) absl::StrAppend(&neighbors, " neighbor ", who, " password ", password, "\n");
    absl::StrAppend(&activate, "  neighbor ", who, " activate\n");
  };
  for (const BgpNeighbor& n : options.neighbors) neighbor(n.address, absl::StrCat(n.asn), n.password);
  if (!options.listen_ranges.empty()) {
    absl::StrAppend(&neighbors, " neighbor NODES peer-group\n");
    neighbor("NODES", "external", options.listen_password);
    for (const std::string& range : options.listen_ranges) {
      absl::StrAppend(&neighbors, " bgp listen range ", range, " peer-group NODES\n");
    }
  }
  std::string families;
  for (const char* family : {"ipv4", "ipv6"}) {
    absl::StrAppend(&families, " address-family ", family, " unicast\n  maximum-paths ",
                    options.maximum_paths, "\n", activate, " exit-address-family\n");
  }
  // multipath-relax: the nodes are each their own AS, and ECMP over paths
  // through different neighbouring ASes needs it.
  return absl::StrCat("frr defaults traditional\nhostname gw\nlog stdout\n!\nrouter bgp ", options.asn,
                      "\n bgp router-id ", options.router_id,
                      "\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n"
                      " bgp bestpath as-path multipath-relax\n timers bgp ",
                      options.keepalive_time, " ", options.hold_time, "\n", neighbors, families);
}

class FrrRouter final : public DaemonRouter {
 public:
  static absl::StatusOr<std::unique_ptr<BgpRouter>> Start(const Namespace& ns,
                                                          const BgpRouterOptions& options) {
    FERRY_ASSIGN_OR_RETURN(const std::string dir, MakeRouterDir(options, "frr"));
    std::unique_ptr<FrrRouter> router(new FrrRouter(ns, dir));
    FERRY_RETURN_IF_ERROR(WriteFile(router->dir_ / "zebra.conf", "hostname gw\nlog stdout\n"));
    FERRY_RETURN_IF_ERROR(WriteFile(router->dir_ / "bgpd.conf", FrrConfig(options)));
    // The daemons drop to the frr user, which must write its pid files and
    // sockets here.
    const passwd* user = getpwnam(kFrrUser);
    if (user == nullptr) return absl::NotFoundError("no user 'frr': is FRR installed?");
    for (const char* file : {"", "zebra.conf", "bgpd.conf"}) {
      if (chown((router->dir_ / file).c_str(), user->pw_uid, user->pw_gid) != 0) {
        return absl::InternalError(absl::StrCat("chown frr ", (router->dir_ / file).string()));
      }
    }
    FERRY_RETURN_IF_ERROR(router->StartDaemon("zebra", router->DaemonArgs("zebra"),
                                              router->dir_ / "zserv.api"));
    FERRY_RETURN_IF_ERROR(router->StartDaemon("bgpd", router->DaemonArgs("bgpd"),
                                              router->dir_ / "bgpd.vty"));
    return router;
  }

  absl::StatusOr<std::map<std::string, std::string>> NeighborStates() const override {
    FERRY_ASSIGN_OR_RETURN(
        std::string out,
        RunCommand(nullptr, {"vtysh", "--vty_socket", dir_.string(), "-c", "show bgp neighbors json"}));
    const nlohmann::json parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) return absl::InternalError(absl::StrCat("vtysh said: ", out));
    std::map<std::string, std::string> states;
    for (const auto& [address, neighbor] : parsed.items()) {
      if (neighbor.contains("bgpState")) states[address] = neighbor["bgpState"].get<std::string>();
    }
    return states;
  }

  // gracefulRestartInfo.endOfRibRecv holds a true per family whose EoR
  // came, under the names multiprotocolExtensions gives the negotiated ones.
  absl::StatusOr<bool> EndOfRibReceived(const std::string& neighbor) const override {
    const std::string command = absl::StrCat("show bgp neighbors ", neighbor, " json");
    FERRY_ASSIGN_OR_RETURN(
        std::string out,
        RunCommand(nullptr, {"vtysh", "--vty_socket", dir_.string(), "-c", command}));
    const nlohmann::json parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object() || !parsed.contains(neighbor)) {
      return absl::InternalError(absl::StrCat("vtysh said: ", out));
    }
    const nlohmann::json& peer = parsed[neighbor];
    if (peer.value("bgpState", "") != "Established") return false;
    const nlohmann::json families = peer.value("neighborCapabilities", nlohmann::json::object())
                                        .value("multiprotocolExtensions", nlohmann::json::object());
    const nlohmann::json received = peer.value("gracefulRestartInfo", nlohmann::json::object())
                                        .value("endOfRibRecv", nlohmann::json::object());
    for (const auto& [family, negotiated] : families.items()) {
      if (negotiated.value("advertisedAndReceived", false) && !received.value(family, false)) {
        return false;
      }
    }
    return true;
  }

 private:
  FrrRouter(const Namespace& ns, const std::string& dir) : DaemonRouter(ns, dir) {}

  // -P 0: no TCP vty, so that routers in one namespace do not collide.
  std::vector<std::string> DaemonArgs(const std::string& daemon) const {
    const std::string dir = dir_.string();
    return {absl::StrCat(kFrrDir, "/", daemon), "--log", "stdout", "-f", dir + "/" + daemon + ".conf",
            "-i", dir + "/" + daemon + ".pid", "-z", dir + "/zserv.api", "--vty_socket", dir, "-P", "0"};
  }
};

std::string BirdConfig(const BgpRouterOptions& options) {
  std::string text = absl::StrCat(
      "router id ", options.router_id, ";\nlog stderr all;\nprotocol device {}\n");
  for (const char* family : {"ipv4", "ipv6"}) {
    absl::StrAppend(&text, "protocol kernel kernel_", family, " { ", family,
                    " { import none; export all; }; merge paths on limit ", options.maximum_paths,
                    "; }\n");
  }
  absl::StrAppend(&text, "template bgp nodes {\n  local as ", options.asn, ";\n  hold time ",
                  options.hold_time, "; keepalive time ", options.keepalive_time,
                  "; connect retry time ", options.connect_retry,
                  ";\n  ipv4 { import all; export none; };\n  ipv6 { import all; export none; };\n}\n");
  const auto password = [](const std::string& secret) {
    return secret.empty() ? std::string() : absl::StrCat(" password \"", secret, "\";");
  };
  for (size_t i = 0; i < options.neighbors.size(); ++i) {
    const BgpNeighbor& n = options.neighbors[i];
    absl::StrAppend(&text, "protocol bgp node", i, " from nodes { neighbor ", n.address, " as ", n.asn,
                    ";", password(n.password), " }\n");
  }
  for (size_t i = 0; i < options.listen_ranges.size(); ++i) {
    absl::StrAppend(&text, "protocol bgp range", i, " from nodes { neighbor range ",
                    options.listen_ranges[i], " external; dynamic name \"dyn", i, "_\";",
                    password(options.listen_password), " }\n");
  }
  return text;
}

class BirdRouter final : public DaemonRouter {
 public:
  static absl::StatusOr<std::unique_ptr<BgpRouter>> Start(const Namespace& ns,
                                                          const BgpRouterOptions& options) {
    FERRY_ASSIGN_OR_RETURN(const std::string dir, MakeRouterDir(options, "bird"));
    std::unique_ptr<BirdRouter> router(new BirdRouter(ns, dir));
    FERRY_RETURN_IF_ERROR(WriteFile(router->dir_ / "bird.conf", BirdConfig(options)));
    FERRY_RETURN_IF_ERROR(router->StartDaemon(
        "bird",
        {"bird", "-f", "-c", dir + "/bird.conf", "-s", router->socket(), "-P", dir + "/bird.pid"},
        router->socket()));
    return router;
  }

  absl::StatusOr<std::map<std::string, std::string>> NeighborStates() const override {
    FERRY_ASSIGN_OR_RETURN(const std::vector<BirdBgpProtocol> protocols, Protocols());
    std::map<std::string, std::string> states;
    for (const BirdBgpProtocol& protocol : protocols) states[protocol.address] = protocol.state;
    return states;
  }

  // BIRD says "Neighbor graceful restart active" from the neighbor's
  // restart until the End-of-RIB of every channel.
  absl::StatusOr<bool> EndOfRibReceived(const std::string& neighbor) const override {
    FERRY_ASSIGN_OR_RETURN(const std::vector<BirdBgpProtocol> protocols, Protocols());
    for (const BirdBgpProtocol& protocol : protocols) {
      if (protocol.address == neighbor) {
        return protocol.state == "Established" && !protocol.restarting;
      }
    }
    return absl::NotFoundError(absl::StrCat("BIRD has no BGP protocol for neighbor ", neighbor));
  }

 private:
  BirdRouter(const Namespace& ns, const std::string& dir) : DaemonRouter(ns, dir) {}
  std::string socket() const { return (dir_ / "bird.ctl").string(); }

  struct BirdBgpProtocol {
    std::string address;
    std::string state;
    bool restarting = false;
  };

  // The BGP protocols with one neighbor (not a dynamic range's template).
  absl::StatusOr<std::vector<BirdBgpProtocol>> Protocols() const {
    FERRY_ASSIGN_OR_RETURN(std::string out,
                           RunCommand(nullptr, {"birdc", "-s", socket(), "show", "protocols", "all"}));
    // One block per protocol, its first line unindented; a BGP one says
    // "BGP state:" and "Neighbor address:" (a range for a dynamic template).
    std::vector<BirdBgpProtocol> blocks;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (!line.empty() && line[0] != ' ' && line[0] != '\t') blocks.emplace_back();
      if (blocks.empty()) continue;
      BirdBgpProtocol& block = blocks.back();
      absl::string_view text = absl::StripAsciiWhitespace(line);
      if (absl::ConsumePrefix(&text, "BGP state:")) {
        block.state = std::string(absl::StripAsciiWhitespace(text));
      } else if (absl::ConsumePrefix(&text, "Neighbor address:")) {
        block.address = std::string(absl::StripAsciiWhitespace(text));
      } else if (text == "Neighbor graceful restart active") {
        block.restarting = true;
      }
    }
    std::erase_if(blocks, [](const BirdBgpProtocol& block) {
      return block.state.empty() || block.address.empty() || absl::StrContains(block.address, '/');
    });
    return blocks;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BgpRouter>> StartFrr(const Namespace& ns,
                                                    const BgpRouterOptions& options) {
  return FrrRouter::Start(ns, options);
}

absl::StatusOr<std::unique_ptr<BgpRouter>> StartBird(const Namespace& ns,
                                                     const BgpRouterOptions& options) {
  return BirdRouter::Start(ns, options);
}

absl::StatusOr<std::vector<std::string>> FibNextHops(const Namespace& ns, const std::string& prefix) {
  std::vector<std::string> args = IpFamilyArgs(prefix);
  args.insert(args.end(), {"route", "show", prefix});
  FERRY_ASSIGN_OR_RETURN(nlohmann::json routes, IpJson(ns, args));
  std::vector<std::string> next_hops;
  for (const nlohmann::json& route : routes) {
    if (route.contains("gateway")) next_hops.push_back(route["gateway"].get<std::string>());
    for (const nlohmann::json& hop : route.value("nexthops", nlohmann::json::array())) {
      if (hop.contains("gateway")) next_hops.push_back(hop["gateway"].get<std::string>());
    }
  }
  std::sort(next_hops.begin(), next_hops.end());
  return next_hops;
}

absl::StatusOr<size_t> FibRouteCount(const Namespace& ns, const std::string& prefix) {
  std::vector<std::string> args = IpFamilyArgs(prefix);
  args.insert(args.end(), {"route", "show", "root", prefix});
  FERRY_ASSIGN_OR_RETURN(nlohmann::json routes, IpJson(ns, args));
  return routes.size();
}

}  // namespace ferry::netns
