#include "agent/ferryd/agent.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/controllers/bgp/view.h"
#include "agent/controllers/lb/view.h"
#include "agent/datapath/fd.h"
#include "agent/datapath/map_info.h"
#include "agent/ferryd/api_view.h"
#include "agent/ferryd/errors_file.h"
#include "agent/model/manifest_dir.h"

namespace ferry::ferryd {

void Log(absl::string_view line) {
  const std::string stamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3S", absl::Now(), absl::LocalTimeZone());
  std::fprintf(stderr, "%s ferryd: %.*s\n", stamp.c_str(), static_cast<int>(line.size()),
               line.data());
  std::fflush(stderr);
}

namespace {

absl::StatusOr<uint16_t> InterfaceMtu(const std::string& name) {
  datapath::Fd socket_fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket_fd.valid()) return absl::ErrnoToStatus(errno, "opening a socket to ask the MTU");
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(socket_fd.get(), SIOCGIFMTU, &request) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reading the MTU of ", name));
  }
  if (request.ifr_mtu < 1280 || request.ifr_mtu > UINT16_MAX) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, "'s MTU ", request.ifr_mtu, " cannot carry tunnels: give --tunnel-mtu"));
  }
  return static_cast<uint16_t>(request.ifr_mtu);
}

// How long what could not be done waits before it is tried again.
constexpr absl::Duration kRetryAfter = absl::Seconds(2);

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Start(const Options& options,
                                                    const sources::SecretStore& secrets) {
  const int uplink = static_cast<int>(if_nametoindex(options.uplink.c_str()));
  if (uplink == 0) {
    return absl::NotFoundError(
        absl::StrCat("uplink ", options.uplink, ": no such interface in this network namespace"));
  }
  Options resolved = options;
  // Without --tunnel-mtu the datapath reads the uplink's MTU per packet
  // (config.tunnel_mtu 0), so it follows changes at run time; the uplink
  // must carry tunnels now all the same.
  absl::StatusOr<uint16_t> uplink_mtu = InterfaceMtu(options.uplink);
  if (!resolved.tunnel_mtu && !uplink_mtu.ok()) return uplink_mtu.status();
  std::error_code error;
  std::filesystem::create_directories(options.state_dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat(
        "creating the state directory ", options.state_dir.string(), ": ", error.message()));
  }
  absl::StatusOr<std::unique_ptr<datapath::Datapath>> datapath =
      datapath::Datapath::Load({.node_name = options.node,
                                .pin_dir = options.pin_dir,
                                .sizes = options.map_sizes,
                                .object_dir = options.bpf_object});
  if (!datapath.ok()) return datapath.status();
  absl::StatusOr<datapath::LbMaps> maps = (*datapath)->OpenMaps();
  if (!maps.ok()) return maps.status();
  std::string xdp_note;
  const absl::StatusOr<datapath::XdpMode> xdp_mode =
      (*datapath)->AttachXdpPreferNative(uplink, xdp_note);
  if (!xdp_mode.ok()) return xdp_mode.status();
  if (absl::Status attached = (*datapath)->AttachTcIngress(uplink, datapath::Program::kTcUplink);
      !attached.ok()) {
    return attached;
  }
  Log(absl::StrCat("node ", options.node, ": datapath loaded (maps in ",
                   options.pin_dir.string(), "), attached to ", options.uplink, " (ifindex ",
                   uplink, "), tunnel MTU ",
                   resolved.tunnel_mtu ? absl::StrCat(*resolved.tunnel_mtu)
                                       : absl::StrCat("the uplink's (now ", *uplink_mtu, ")"),
                   ", Maglev size ",
                   options.maglev_size,
                   options.bpf_object.empty()
                       ? ""
                       : absl::StrCat(", programs from ", options.bpf_object.string())));
  for (const std::string& note : (*datapath)->load_notes()) Log(note);
  if (!xdp_note.empty()) Log(xdp_note);
  auto lb_maps = std::make_unique<datapath::LbMaps>(std::move(*maps));
  const std::filesystem::path status_file = resolved.state_dir / "status.json";
  std::optional<SavedStatus> saved_status;
  if (std::filesystem::exists(status_file)) {
    absl::StatusOr<std::string> text = model::ReadFile(status_file);
    absl::StatusOr<SavedStatus> saved =
        text.ok() ? ParseSavedStatus(*text) : absl::StatusOr<SavedStatus>(text.status());
    if (saved.ok()) {
      saved_status = *std::move(saved);
    } else {
      Log(absl::StrCat(status_file.string(), ": ", saved.status().message(),
                       "; addresses are allocated afresh"));
    }
  }
  absl::StatusOr<std::unique_ptr<L2Announcer>> l2 =
      L2Announcer::Start({.node = resolved.node,
                          .uplink = resolved.uplink,
                          .lease_dir = resolved.lease_dir,
                          .liveness = resolved.l2_liveness,
                          .announcements = resolved.l2_announcements,
                          .node_leases = resolved.node_leases},
                         *lb_maps);
  if (!l2.ok()) {
    return absl::Status(l2.status().code(),
                        absl::StrCat("starting L2 announcements: ", l2.status().message()));
  }
  // A status.json from a previous run: this is a restart, and peers that
  // negotiated graceful restart still hold this node's routes.
  const bool restarting = std::filesystem::exists(status_file);
  absl::StatusOr<std::unique_ptr<bgp::Speaker>> speaker =
      bgp::Speaker::Start({.listen_port = resolved.bgp_listen_port,
                           .restarting = restarting,
                           .log = [](absl::string_view line) { Log(absl::StrCat("bgp: ", line)); }});
  if (!speaker.ok()) {
    return absl::Status(speaker.status().code(),
                        absl::StrCat("starting the BGP speaker: ", speaker.status().message()));
  }
  auto agent = std::unique_ptr<Agent>(new Agent(std::move(resolved), uplink, std::move(*datapath),
                                                std::move(lb_maps), *std::move(l2),
                                                *std::move(speaker), secrets));
  if (saved_status) agent->ipam_->Restore(*std::move(saved_status));
  agent->RecordAttachment(datapath::Program::kXdpLb,
                          *xdp_mode == datapath::XdpMode::kNative ? "xdp (native)" : "xdp (generic)",
                          uplink);
  agent->RecordAttachment(datapath::Program::kTcUplink, "tc ingress", uplink);
  agent->Publish();
  return agent;
}

Agent::Agent(Options options, int uplink_ifindex, std::unique_ptr<datapath::Datapath> datapath,
             std::unique_ptr<datapath::LbMaps> maps, std::unique_ptr<L2Announcer> l2,
             std::unique_ptr<bgp::Speaker> speaker, const sources::SecretStore& secrets)
    : options_(std::move(options)), datapath_(std::move(datapath)), maps_(std::move(maps)) {
  // The one declared order of a pass: a controller runs after those whose
  // output it reads (every one reads LB-IPAM's VIPs).
  auto ipam = std::make_unique<IpamDriver>(absl::Now, Log,
                                           options_.from_api() ? IpamDriver::VipSource::kStatus
                                                               : IpamDriver::VipSource::kAllocation);
  auto lb = std::make_unique<LbDriver>(
      LbDriver::Settings{.node = options_.node,
                         .maglev_size = options_.maglev_size,
                         .flow_hash_seed = options_.flow_hash_seed,
                         .tunnel_mtu = options_.tunnel_mtu,
                         .map_sizes = options_.map_sizes,
                         .uplink_ifindex = uplink_ifindex},
      *maps_, *ipam, [this](int ifindex) {
        absl::Status attached = datapath_->AttachTcIngress(ifindex, datapath::Program::kTcPod);
        if (attached.ok()) RecordAttachment(datapath::Program::kTcPod, "tc ingress", ifindex);
        return attached;
      });
  auto l2_driver =
      std::make_unique<L2Driver>(std::move(l2), options_.node, options_.uplink, *ipam);
  auto bgp_driver =
      std::make_unique<BgpDriver>(std::move(speaker), options_.node, secrets, *ipam);
  ipam_ = ipam.get();
  lb_ = lb.get();
  l2_ = l2_driver.get();
  bgp_ = bgp_driver.get();
  controllers_.push_back(std::move(ipam));
  controllers_.push_back(std::move(lb));
  controllers_.push_back(std::move(l2_driver));
  controllers_.push_back(std::move(bgp_driver));
}

void Agent::RecordAttachment(datapath::Program program, absl::string_view hook, int ifindex) {
  agent::v1::AttachedProgram& attached = attached_.emplace_back();
  attached.set_program(std::string(datapath::ProgramName(program)));
  attached.set_hook(std::string(hook));
  char name[IF_NAMESIZE] = {};
  attached.set_interface(if_indextoname(ifindex, name) != nullptr ? name : "?");
  attached.set_ifindex(ifindex);
  if (absl::StatusOr<uint32_t> id = datapath::ProgramId(datapath_->ProgramFd(program)); id.ok()) {
    attached.set_program_id(*id);
  }
}

void Agent::Apply(const model::ChangeSet& changes) {
  const model::ModelDelta delta = model_.Apply(changes);
  if (changes.problems) source_problems_ = *changes.problems;
  applied_ = true;
  Pass(delta, "manifests", /*retry=*/false);
  if (changes.replace_all) health_.Programmed();
}

void Agent::AttachWriter(std::unique_ptr<IpamWriter> writer) { writer_ = std::move(writer); }

void Agent::Tick(absl::Time now) {
  if (!writer_ || !applied_) return;
  writer_->Elect(now);
  const bool leading = writer_->Leading(now);
  if (leading != ipam_->leading()) {
    Log(leading ? "LB-IPAM: this node leads (Lease ferry-ipam): allocating, claiming every "
                  "address the Services' status holds first"
                : absl::StrCat("LB-IPAM: this node no longer leads (holder: ",
                               writer_->holder().empty() ? "none" : writer_->holder(), ")"));
    ipam_->SetLeading(leading);
    if (leading) writer_->StartTerm();
    Pass({}, "leadership", /*retry=*/false);
  }
  writer_->Write(now, model_, ipam_->ipam());
}

absl::Time Agent::TickAt() const {
  if (!writer_ || !applied_) return absl::InfiniteFuture();
  return writer_->NextAt();
}

bool Agent::ReleaseLease(absl::Time now) { return writer_ && writer_->Release(now); }

void Agent::Retry(absl::string_view trigger) { Pass({}, trigger, /*retry=*/true); }

absl::Time Agent::RetryAt() const {
  return retry_at_;
}

void Agent::Stop(Departure departure) {
  const bool leave = departure == Departure::kLeave;
  l2_->announcer().Stop(leave ? L2Announcer::Stopping::kLeaving
                              : L2Announcer::Stopping::kRestarting);
  bgp_->speaker().Shutdown(leave ? bgp::ShutdownMode::kCease : bgp::ShutdownMode::kKeepRoutes);
}

void Agent::Pass(const model::ModelDelta& delta, absl::string_view trigger, bool retry) {
  const absl::Time start = absl::Now();
  health_.PassStarted(start);
  ferryd::Pass pass{.model = model_,
                    .delta = delta,
                    .object_errors = source_problems_.objects,
                    .first = !passed_,
                    .retry = retry,
                    .services = delta.services};
  for (const std::unique_ptr<Controller>& controller : controllers_) controller->Run(pass);
  passed_ = true;
  if (pass.status_changed) {
    status_stale_ = true;
    if (writer_) writer_->MarkDirty();
  }

  const int writes = lb_->writes();
  const std::string detail = lb_->WritesDetail();
  const absl::Duration took = absl::Now() - start;
  if (writes > 0 || trigger == "manifests") {
    Log(absl::StrCat("reconcile (", trigger, "): ", lb_->input().services.size(),
                     " service ports, ", lb_->input().nodes.size(), " nodes, ",
                     lb_->local_endpoints(),
                     " local endpoints; ", writes, " writes (", detail.empty() ? "none" : detail,
                     ") in ", absl::FormatDuration(took)));
  }
  last_reconcile_.set_unix_ns(absl::ToUnixNanos(start));
  last_reconcile_.set_trigger(std::string(trigger));
  last_reconcile_.set_writes(writes);
  last_reconcile_.set_duration_ns(absl::ToInt64Nanoseconds(took));
  last_reconcile_.set_detail(detail);

  std::vector<std::string> problems;
  for (const std::unique_ptr<Controller>& controller : controllers_) {
    controller->AppendProblems(problems);
  }
  PublishErrors(std::move(problems));
  if (status_stale_) WriteStatusFile();
  Publish();
  retry_at_ = pass.settled ? absl::InfiniteFuture() : absl::Now() + kRetryAfter;
  health_.PassEnded();
}

void Agent::Publish() {
  const std::shared_ptr<const Snapshot> previous = snapshot_.load();
  auto next = std::make_shared<Snapshot>();
  for (const agent::v1::AttachedProgram& program : attached_) *next->status.add_programs() = program;
  *next->status.mutable_counts() = CountsOf(model_, lb_->input(), lb_->local_endpoints());
  *next->status.mutable_errors() = ErrorsOf(options_.node, errors_);
  *next->status.mutable_last_reconcile() = last_reconcile_;
  if (previous != nullptr) next->views = previous->views;
  for (const std::unique_ptr<Controller>& controller : controllers_) {
    controller->Publish(next->views);
  }
  snapshot_.store(std::move(next));
}

void Agent::WriteStatusFile() {
  nlohmann::json document = nlohmann::json::object();
  for (const std::unique_ptr<Controller>& controller : controllers_) {
    controller->AppendStatus(document);
  }
  std::string json = document.dump(2) + "\n";
  if (json == status_json_) return;
  if (absl::Status written = WriteFileAtomically(options_.state_dir / "status.json", json);
      !written.ok()) {
    Log(absl::StrCat("writing status.json: ", written.message()));
    return;
  }
  status_json_ = std::move(json);
}

void Agent::PublishErrors(std::vector<std::string> problems) {
  AgentErrors errors{.file_errors = source_problems_.files,
                     .object_errors = source_problems_.objects,
                     .problems = std::move(problems)};
  // Each line is logged once while it lasts, not on every pass.
  std::set<std::string> current;
  for (const model::FileError& e : errors.file_errors) {
    current.insert(absl::StrCat("source error: ", e.ToString()));
  }
  for (const model::ObjectError& e : errors.object_errors) {
    current.insert(absl::StrCat(
        e.error.severity == model::Severity::kError ? "invalid object (skipped): "
                                                    : "ignored object: ",
        e.ToString()));
  }
  for (const std::string& p : errors.problems) current.insert(absl::StrCat("problem: ", p));
  for (const std::string& line : current) {
    if (!logged_.contains(line)) Log(line);
  }
  logged_ = std::move(current);

  std::string json = ErrorsJson(options_.node, errors);
  errors_ = std::move(errors);
  if (json == errors_json_) return;
  if (absl::Status written = WriteFileAtomically(options_.state_dir / "errors.json", json);
      !written.ok()) {
    Log(absl::StrCat("writing errors.json: ", written.message()));
    return;
  }
  errors_json_ = std::move(json);
}

agent::v1::AgentStatus Agent::Status() const {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  agent::v1::AgentStatus status = snapshot ? snapshot->status : agent::v1::AgentStatus{};
  status.set_node(options_.node);
  status.set_pid(getpid());
  status.set_started_unix_ns(absl::ToUnixNanos(started_));
  status.set_uplink(options_.uplink);
  status.set_pin_dir(options_.pin_dir.string());
  status.set_manifests(options_.manifests.string());
  status.set_maglev_size(options_.maglev_size);
  // From the pins: the kernel's view needs no agent state.
  absl::StatusOr<std::vector<datapath::PinnedMapInfo>> maps =
      datapath::DescribePinnedMaps(options_.pin_dir);
  for (const datapath::PinnedMapInfo& map : maps.ok() ? *maps : std::vector<datapath::PinnedMapInfo>{}) {
    agent::v1::MapInfo* out = status.add_maps();
    out->set_name(map.name);
    out->set_type(map.type);
    out->set_key_size(map.key_size);
    out->set_value_size(map.value_size);
    out->set_max_entries(map.max_entries);
    out->set_map_id(map.id);
    out->set_memlock_bytes(map.memlock_bytes);
    out->set_inner_maps(map.inner_maps);
    out->set_inner_memlock_bytes(map.inner_memlock_bytes);
  }
  if (!maps.ok()) {
    status.mutable_errors()->add_problems(
        absl::StrCat("describing the maps: ", maps.status().message()));
  }
  return status;
}

agent::v1::ServiceList Agent::Services(const agent::v1::ListServicesRequest& request) const {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  agent::v1::ServiceList list;
  if (!snapshot || !snapshot->views.services) return list;
  for (const auto& [ref, entries] : *snapshot->views.services) {
    if (!Requested(request, ref)) continue;
    for (const agent::v1::LbService& entry : *entries) *list.add_services() = entry;
  }
  return list;
}

agent::v1::L2Announcements Agent::L2() const { return l2_->announcer().Snapshot(); }

agent::v1::BgpPeers Agent::BgpPeers() const {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  return BgpPeersOf(options_.node, snapshot ? *snapshot->views.bgp : bgp_control::BgpPlan{},
                    bgp_->speaker().Peers());
}

agent::v1::BgpRoutes Agent::BgpRoutes(const agent::v1::ListBgpRoutesRequest& request) const {
  std::map<std::string, std::vector<bgp::Route>> sent = bgp_->speaker().AllSentRoutes();
  if (!request.peer().empty()) {
    std::erase_if(sent, [&](const auto& entry) { return entry.first != request.peer(); });
  }
  return BgpRoutesOf(options_.node, sent);
}

agent::v1::PoolList Agent::Pools() const {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  return snapshot ? *snapshot->views.pools : agent::v1::PoolList{};
}

agent::v1::AllocationList Agent::Allocations() const {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  return snapshot ? *snapshot->views.allocations : agent::v1::AllocationList{};
}

}  // namespace ferry::ferryd
