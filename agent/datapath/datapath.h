// Loads the datapath's BPF objects, one per hook (ferry_xdp, ferry_tc_uplink,
// ferry_tc_pod), over the same maps pinned under a per-node directory, and
// attaches their programs to interfaces. One Datapath per
// simulated node: nothing here is process-global, so several instances (each
// with its own pin directory, attaching in its own network namespace) live
// side by side in one process.
#ifndef FERRY_AGENT_DATAPATH_DATAPATH_H_
#define FERRY_AGENT_DATAPATH_DATAPATH_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/maps.h"

struct bpf_object;

namespace ferry::datapath {

inline constexpr absl::string_view kPinRoot = "/sys/fs/bpf/ferry";

// Entries of each map. services sizes maglev_tables and service_stats (both
// indexed by service id); frontends (VIP, port, protocol) is last so that
// designated initializers written before it existed still compile.
struct MapSizes {
  uint32_t services = 4096;
  uint32_t vips = 4096;
  uint32_t backends = 65536;
  uint32_t nodes = 1024;
  uint32_t flows = 262144;
  uint32_t fragments = 16384;
  uint32_t rev_nat = 262144;
  uint32_t endpoints = 4096;
  uint32_t frontends = 4096;
};

// Every size > 0 and at most a bound that keeps one map's memory sane on a
// node (flows and rev_nat up to 16M entries, the others up to 1M).
absl::Status ValidateMapSizes(const MapSizes& sizes);

// /sys/fs/bpf/ferry/<node_name>; rejects names that are empty or would leave
// that directory ("..", "a/b").
absl::StatusOr<std::filesystem::path> DefaultPinDir(absl::string_view node_name);

// Removes the pinned maps and the directory; OK if it does not exist.
absl::Status RemovePinDir(const std::filesystem::path& pin_dir);

enum class Program { kXdpLb, kTcUplink, kTcPod };
// The program's name in the object ("ferry_xdp_lb", ...), as bpftool shows it.
absl::string_view ProgramName(Program program);
enum class XdpMode { kNative, kGeneric };

class Datapath {
 public:
  struct Options {
    std::string node_name;
    std::filesystem::path pin_dir;  // empty: DefaultPinDir(node_name)
    MapSizes sizes;
    // A directory holding another build of the objects (ferry_xdp.bpf.o,
    // ferry_tc_uplink.bpf.o, ferry_tc_pod.bpf.o) to load instead of the ones
    // built into this binary (same maps and programs by name): rolls the
    // datapath forward or back without a new agent, and lets tests run an
    // upgrade.
    std::filesystem::path object_dir;
  };

  // Opens and loads the objects. Maps already pinned in the pin directory are
  // reused (their contents, e.g. established flows, survive an agent
  // restart); a pinned map whose type, key, value, size or flags differ from
  // this build's is an error naming the map and its pin path, except for the
  // counters-only maps (drops, events), which are made anew (load_notes).
  static absl::StatusOr<std::unique_ptr<Datapath>> Load(const Options& options);

  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;
  // Closes the objects. Attached programs and pinned maps stay: the datapath
  // keeps forwarding while the agent is down.
  ~Datapath();

  const std::filesystem::path& pin_dir() const { return pin_dir_; }
  // What Load changed in the pinned maps to fit this build, for the log.
  const std::vector<std::string>& load_notes() const { return load_notes_; }
  int ProgramFd(Program program) const;
  // Typed access to the objects' maps (the fds are duplicated, so the
  // result may outlive the Datapath).
  absl::StatusOr<LbMaps> OpenMaps() const;

  // All of these act on interfaces of the calling thread's network namespace.
  // Attaches ferry_xdp_lb. An older Ferry XDP program on the interface is
  // replaced atomically; a program of anyone else is left alone (error).
  absl::Status AttachXdp(int ifindex, XdpMode mode);
  // AttachXdp natively or, where the driver refuses (no XDP support, or none
  // for an MTU above a page without multi-buffer support), in generic mode.
  // Returns the mode used; a fallback is explained in `note`.
  absl::StatusOr<XdpMode> AttachXdpPreferNative(int ifindex, std::string& note);
  // Detaches a Ferry XDP program; OK if none is attached.
  absl::Status DetachXdp(int ifindex, XdpMode mode);
  // Attaches kTcUplink or kTcPod at TC ingress (clsact), at Ferry's fixed
  // handle and priority, replacing the Ferry filter that is there.
  absl::Status AttachTcIngress(int ifindex, Program program);
  // Removes Ferry's filter; the clsact qdisc stays (other filters may use it).
  absl::Status DetachTcIngress(int ifindex);

  // Removes the pin directory: the maps live on only while this object or an
  // attached program holds them. For tests and node decommissioning.
  absl::Status Unpin();

 private:
  // One object's ELF image and, once opened, the object over it.
  struct Object {
    std::string bytes;  // an object_dir file's contents; empty: built in
    bpf_object* object = nullptr;
  };
  static constexpr size_t kObjects = 3;  // in Program order

  explicit Datapath(std::filesystem::path pin_dir) : pin_dir_(std::move(pin_dir)) {}

  std::filesystem::path pin_dir_;
  // The images stay alive as long as the objects, which point into them.
  Object objects_[kObjects];
  std::vector<std::string> load_notes_;
};

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_DATAPATH_H_
