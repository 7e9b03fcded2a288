#include "agent/datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ferry_tc_pod.skel.h"
#include "ferry_tc_uplink.skel.h"
#include "ferry_xdp.skel.h"

namespace ferry::datapath {
namespace {

constexpr uint32_t kMaxConntrackEntries = 16u << 20;
constexpr uint32_t kMaxTableEntries = 1u << 20;

absl::Status CheckSize(absl::string_view field, uint32_t value, uint32_t max) {
  if (value == 0 || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("map size ", field, " = ", value, ": expected 1 to ", max));
  }
  return absl::OkStatus();
}

// Maps that hold nothing but counters: when a new build changes their shape
// (a drop reason or event added), the pinned one is replaced rather than
// refused, at the cost of restarting those counters from zero.
bool HoldsOnlyCounters(absl::string_view map_name) {
  return map_name == FERRY_MAP_DROPS || map_name == FERRY_MAP_EVENTS;
}

// A map that libbpf would refuse to reuse, explained: libbpf itself only says
// "parameter mismatch". Returns OK when nothing is pinned at the map's path,
// and when a counters-only map was unpinned to be made anew (said in
// `notes`).
absl::Status CheckPinnedMapCompatible(const bpf_map* map, std::vector<std::string>& notes) {
  const char* pin_path = bpf_map__pin_path(map);
  if (pin_path == nullptr || access(pin_path, F_OK) != 0) return absl::OkStatus();
  Fd pinned(bpf_obj_get(pin_path));
  if (!pinned.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("opening pinned map ", pin_path));
  }
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(pinned.get(), &info, &info_len) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reading pinned map ", pin_path));
  }
  std::vector<std::string> differences;
  auto compare = [&](absl::string_view what, uint64_t pinned_value, uint64_t wanted) {
    if (pinned_value != wanted) {
      differences.push_back(absl::StrCat(what, " ", pinned_value, " pinned, ", wanted,
                                         " in this build"));
    }
  };
  compare("type", info.type, bpf_map__type(map));
  compare("key size", info.key_size, bpf_map__key_size(map));
  compare("value size", info.value_size, bpf_map__value_size(map));
  compare("max_entries", info.max_entries, bpf_map__max_entries(map));
  compare("flags", info.map_flags, bpf_map__map_flags(map));
  if (differences.empty()) return absl::OkStatus();
  if (HoldsOnlyCounters(bpf_map__name(map))) {
    if (unlink(pin_path) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("unpinning the old ", pin_path));
    }
    notes.push_back(absl::StrCat("counters map '", bpf_map__name(map), "' replaced (",
                                 absl::StrJoin(differences, "; "), "): its counts restart at 0"));
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "pinned map '", bpf_map__name(map), "' at ", pin_path,
      " is incompatible with this build or configuration (", absl::StrJoin(differences, "; "),
      "): restore the old map sizes, or remove the pin (its state, such as established "
      "flows, is lost)"));
}

absl::Status CreatePinDir(const std::filesystem::path& pin_dir) {
  std::error_code error;
  std::filesystem::create_directories(pin_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("creating pin directory ", pin_dir.string(), ": ", error.message(),
                     " (is bpffs mounted at /sys/fs/bpf?)"));
  }
  // Pinned maps hold flows and addresses: only root may open them.
  if (chmod(pin_dir.c_str(), 0700) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chmod 0700 ", pin_dir.string()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateMapSizes(const MapSizes& sizes) {
  const std::pair<absl::string_view, std::pair<uint32_t, uint32_t>> checks[] = {
      {"services", {sizes.services, kMaxTableEntries}},
      {"vips", {sizes.vips, kMaxTableEntries}},
      {"backends", {sizes.backends, kMaxTableEntries}},
      {"nodes", {sizes.nodes, kMaxTableEntries}},
      {"flows", {sizes.flows, kMaxConntrackEntries}},
      {"fragments", {sizes.fragments, kMaxTableEntries}},
      {"rev_nat", {sizes.rev_nat, kMaxConntrackEntries}},
      {"endpoints", {sizes.endpoints, kMaxTableEntries}},
      {"frontends", {sizes.frontends, kMaxTableEntries}},
  };
  for (const auto& [field, value_and_max] : checks) {
    if (absl::Status status = CheckSize(field, value_and_max.first, value_and_max.second);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::filesystem::path> DefaultPinDir(absl::string_view node_name) {
  if (node_name.empty() || node_name == "." || node_name == ".." ||
      node_name.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node name '", node_name, "' cannot name a pin directory under ", kPinRoot));
  }
  return std::filesystem::path(std::string(kPinRoot)) / std::string(node_name);
}

absl::Status RemovePinDir(const std::filesystem::path& pin_dir) {
  std::error_code error;
  std::filesystem::remove_all(pin_dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("removing pin directory ", pin_dir.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::string> ReadObjectFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) {
    return absl::NotFoundError(absl::StrCat("reading the BPF object ", path.string()));
  }
  if (bytes.size() < 4 || bytes.compare(0, 4, "\x7f" "ELF") != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the BPF object ", path.string(), " is not an ELF file"));
  }
  return bytes;
}

// The datapath's objects, in Program order: the first creates and pins the
// maps the others reuse.
struct BuiltIn {
  const char* name;
  const void* (*elf_bytes)(size_t*);
};
constexpr BuiltIn kBuiltIn[] = {
    {"ferry_xdp", ferry_xdp__elf_bytes},
    {"ferry_tc_uplink", ferry_tc_uplink__elf_bytes},
    {"ferry_tc_pod", ferry_tc_pod__elf_bytes},
};

// Sizes the object's maps as configured, and checks those already pinned.
absl::Status PrepareMaps(bpf_object* object, const MapSizes& sizes, std::vector<std::string>& notes) {
  const std::pair<const char*, uint32_t> resized[] = {
      {FERRY_MAP_FRONTENDS, sizes.frontends}, {FERRY_MAP_VIPS, sizes.vips},
      {FERRY_MAP_MAGLEV, sizes.services},     {FERRY_MAP_SERVICE_STATS, sizes.services},
      {FERRY_MAP_BACKENDS, sizes.backends},   {FERRY_MAP_NODES, sizes.nodes},
      {FERRY_MAP_FLOWS, sizes.flows},         {FERRY_MAP_FRAGMENTS, sizes.fragments},
      {FERRY_MAP_REV_NAT, sizes.rev_nat},     {FERRY_MAP_ENDPOINTS, sizes.endpoints},
  };
  for (const auto& [name, entries] : resized) {
    bpf_map* map = bpf_object__find_map_by_name(object, name);
    if (map == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("the BPF object ", bpf_object__name(object),
                                                     " has no map ", name));
    }
    if (int err = bpf_map__set_max_entries(map, entries); err != 0) {
      return absl::ErrnoToStatus(-err, absl::StrCat("sizing map ", name));
    }
  }
  bpf_map* map;
  bpf_object__for_each_map(map, object) {
    if (absl::Status status = CheckPinnedMapCompatible(map, notes); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Load(const Options& options) {
  if (absl::Status status = ValidateMapSizes(options.sizes); !status.ok()) return status;
  std::filesystem::path pin_dir = options.pin_dir;
  if (pin_dir.empty()) {
    absl::StatusOr<std::filesystem::path> default_dir = DefaultPinDir(options.node_name);
    if (!default_dir.ok()) return default_dir.status();
    pin_dir = *default_dir;
  }
  auto datapath = std::unique_ptr<Datapath>(new Datapath(pin_dir));
  if (!options.object_dir.empty()) {
    for (size_t i = 0; i < kObjects; ++i) {
      absl::StatusOr<std::string> read =
          ReadObjectFile(options.object_dir / absl::StrCat(kBuiltIn[i].name, ".bpf.o"));
      if (!read.ok()) return read.status();
      datapath->objects_[i].bytes = std::move(*read);
    }
  }
  if (absl::Status status = CreatePinDir(pin_dir); !status.ok()) return status;

  const std::string pin_root = pin_dir.string();
  std::vector<std::string> notes;
  for (size_t i = 0; i < kObjects; ++i) {
    Object& slot = datapath->objects_[i];
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = kBuiltIn[i].name,
                .pin_root_path = pin_root.c_str());
    size_t size = slot.bytes.size();
    const void* bytes = slot.bytes.empty() ? kBuiltIn[i].elf_bytes(&size) : slot.bytes.data();
    slot.object = bpf_object__open_mem(bytes, size, &open_opts);
    if (slot.object == nullptr) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("opening the BPF object ", kBuiltIn[i].name,
                              slot.bytes.empty() ? "" : absl::StrCat(" from ", options.object_dir.string()),
                              " (a build of another source has other maps or programs)"));
    }
    if (absl::Status status = PrepareMaps(slot.object, options.sizes, notes); !status.ok()) return status;
    if (int err = bpf_object__load(slot.object); err != 0) {
      return absl::ErrnoToStatus(-err, absl::StrCat("loading the BPF object ", kBuiltIn[i].name, " (maps in ",
                                                    pin_root, "); libbpf's log above has the detail"));
    }
  }
  datapath->load_notes_ = std::move(notes);
  return datapath;
}

Datapath::~Datapath() {
  for (Object& slot : objects_) bpf_object__close(slot.object);
}

int Datapath::ProgramFd(Program program) const {
  const auto index = static_cast<size_t>(program);
  if (index >= kObjects) return -1;
  const std::string name(ProgramName(program));
  return bpf_program__fd(bpf_object__find_program_by_name(objects_[index].object, name.c_str()));
}

absl::StatusOr<LbMaps> Datapath::OpenMaps() const { return LbMaps::FromObject(objects_[0].object); }

absl::Status Datapath::Unpin() { return RemovePinDir(pin_dir_); }

}  // namespace ferry::datapath
