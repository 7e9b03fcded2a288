// Attaching the programs to interfaces. XDP and TC attachments are netlink
// ones (not bpf_link), so they outlive the agent process: a restarted agent
// finds its old programs attached and replaces them in place.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/netlink.h"

namespace ferry::datapath {
namespace {

// Ferry's TC filter: one fixed slot per interface, so a new build's program
// replaces the old one instead of stacking up behind it.
constexpr uint32_t kTcHandle = 0xfe77;
constexpr uint32_t kTcPriority = 1;

// In Program's order.
constexpr absl::string_view kFerryProgramNames[] = {"ferry_xdp_lb", "ferry_tc_uplink",
                                                   "ferry_tc_pod"};

std::string InterfaceName(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(ifindex, name) == nullptr) return absl::StrCat("ifindex ", ifindex);
  return absl::StrCat(name, " (ifindex ", ifindex, ")");
}

struct AttachedProgram {
  uint32_t id = 0;  // 0: nothing attached
  std::string name;
  bool is_ferry = false;
};

absl::StatusOr<AttachedProgram> DescribeProgram(uint32_t id) {
  AttachedProgram program;
  program.id = id;
  if (id == 0) return program;
  Fd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("opening program id ", id));
  bpf_prog_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &info_len) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reading program id ", id));
  }
  program.name = info.name;
  for (absl::string_view ferry_name : kFerryProgramNames) {
    program.is_ferry = program.is_ferry || program.name == ferry_name;
  }
  return program;
}

uint32_t XdpModeFlag(XdpMode mode) {
  return mode == XdpMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

absl::StatusOr<AttachedProgram> AttachedXdp(int ifindex, XdpMode mode) {
  uint32_t id = 0;
  if (int err = bpf_xdp_query_id(ifindex, XdpModeFlag(mode), &id); err != 0) {
    return absl::ErrnoToStatus(-err, absl::StrCat("querying XDP on ", InterfaceName(ifindex)));
  }
  return DescribeProgram(id);
}

absl::Status ForeignProgramError(absl::string_view hook, int ifindex,
                                 const AttachedProgram& program) {
  return absl::FailedPreconditionError(absl::StrCat(
      InterfaceName(ifindex), " already has ", hook, " program '", program.name, "' (id ",
      program.id, ") that is not Ferry's; detach it first"));
}

bpf_tc_hook IngressHook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts FerryFilter() {
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  return opts;
}

// The program in Ferry's TC ingress slot; id 0 when the slot is empty.
absl::StatusOr<AttachedProgram> AttachedTcIngress(int ifindex) {
  bpf_tc_hook hook = IngressHook(ifindex);
  bpf_tc_opts query = FerryFilter();
  const int err = bpf_tc_query(&hook, &query);
  // ENOENT: no such filter; EINVAL: no filter chain (or no clsact) at all.
  if (err == -ENOENT || err == -EINVAL) return AttachedProgram{};
  if (err != 0) {
    return absl::ErrnoToStatus(-err, absl::StrCat("querying TC ingress on ",
                                                  InterfaceName(ifindex)));
  }
  return DescribeProgram(query.prog_id);
}

}  // namespace

absl::string_view ProgramName(Program program) {
  return kFerryProgramNames[static_cast<int>(program)];
}

absl::Status Datapath::AttachXdp(int ifindex, XdpMode mode) {
  absl::StatusOr<AttachedProgram> current = AttachedXdp(ifindex, mode);
  if (!current.ok()) return current.status();
  uint32_t flags = XdpModeFlag(mode);
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  Fd old_program;
  if (current->id == 0) {
    flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  } else if (current->is_ferry) {
    // Swap only if it is still the program we saw: atomic for the packets,
    // and a concurrent change makes this fail instead of being overwritten.
    old_program = Fd(bpf_prog_get_fd_by_id(current->id));
    if (!old_program.valid()) {
      return absl::ErrnoToStatus(errno, absl::StrCat("opening program id ", current->id));
    }
    flags |= XDP_FLAGS_REPLACE;
    opts.old_prog_fd = old_program.get();
  } else {
    return ForeignProgramError("XDP", ifindex, *current);
  }
  if (int err = bpf_xdp_attach(ifindex, ProgramFd(Program::kXdpLb), flags, &opts); err != 0) {
    return absl::ErrnoToStatus(
        -err, absl::StrCat("attaching XDP (", mode == XdpMode::kNative ? "native" : "generic",
                           ") to ", InterfaceName(ifindex)));
  }
  return absl::OkStatus();
}

absl::StatusOr<XdpMode> Datapath::AttachXdpPreferNative(int ifindex, std::string& note) {
  const absl::Status native = AttachXdp(ifindex, XdpMode::kNative);
  if (native.ok()) return XdpMode::kNative;
  // A foreign program is no driver's limit: generic mode would not help.
  if (absl::IsFailedPrecondition(native) || !AttachXdp(ifindex, XdpMode::kGeneric).ok()) return native;
  note = absl::StrCat("native XDP refused on ", InterfaceName(ifindex), " (", native.message(),
                      "): attached in generic mode, which is slower; a driver without native XDP, "
                      "or without multi-buffer support for an MTU above a page, refuses it");
  return XdpMode::kGeneric;
}

absl::Status Datapath::DetachXdp(int ifindex, XdpMode mode) {
  absl::StatusOr<AttachedProgram> current = AttachedXdp(ifindex, mode);
  if (!current.ok()) return current.status();
  if (current->id == 0) return absl::OkStatus();
  if (!current->is_ferry) return ForeignProgramError("XDP", ifindex, *current);
  Fd old_program(bpf_prog_get_fd_by_id(current->id));
  if (!old_program.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("opening program id ", current->id));
  }
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_program.get());
  if (int err = bpf_xdp_detach(ifindex, XdpModeFlag(mode) | XDP_FLAGS_REPLACE, &opts);
      err != 0) {
    return absl::ErrnoToStatus(-err, absl::StrCat("detaching XDP from ", InterfaceName(ifindex)));
  }
  return absl::OkStatus();
}

absl::Status Datapath::AttachTcIngress(int ifindex, Program program) {
  if (program == Program::kXdpLb) {
    return absl::InvalidArgumentError("ferry_xdp_lb is an XDP program, not a TC one");
  }
  // libbpf creates a clsact exclusively and prints the kernel's refusal
  // ("Exclusivity flag on") when there is one, as after every restart: ask
  // first. A clsact just created holds no filter; querying its empty chain
  // would only make libbpf print the kernel's "Cannot find specified filter
  // chain".
  absl::StatusOr<bool> has_clsact = HasClsactQdisc(static_cast<uint32_t>(ifindex));
  if (!has_clsact.ok()) return has_clsact.status();
  bpf_tc_hook hook = IngressHook(ifindex);
  if (*has_clsact) {
    absl::StatusOr<AttachedProgram> current = AttachedTcIngress(ifindex);
    if (!current.ok()) return current.status();
    if (current->id != 0 && !current->is_ferry) {
      return ForeignProgramError("TC ingress", ifindex, *current);
    }
  } else if (const int created = bpf_tc_hook_create(&hook); created != 0 && created != -EEXIST) {
    return absl::ErrnoToStatus(-created,
                               absl::StrCat("creating clsact on ", InterfaceName(ifindex)));
  }
  bpf_tc_opts attach = FerryFilter();
  attach.prog_fd = ProgramFd(program);
  attach.flags = BPF_TC_F_REPLACE;
  if (int err = bpf_tc_attach(&hook, &attach); err != 0) {
    return absl::ErrnoToStatus(-err, absl::StrCat("attaching TC ingress to ",
                                                  InterfaceName(ifindex)));
  }
  return absl::OkStatus();
}

absl::Status Datapath::DetachTcIngress(int ifindex) {
  absl::StatusOr<AttachedProgram> current = AttachedTcIngress(ifindex);
  if (!current.ok()) return current.status();
  if (current->id == 0) return absl::OkStatus();
  if (!current->is_ferry) return ForeignProgramError("TC ingress", ifindex, *current);
  bpf_tc_hook hook = IngressHook(ifindex);
  bpf_tc_opts filter = FerryFilter();
  if (int err = bpf_tc_detach(&hook, &filter); err != 0) {
    return absl::ErrnoToStatus(-err, absl::StrCat("detaching TC ingress from ",
                                                  InterfaceName(ifindex)));
  }
  return absl::OkStatus();
}

}  // namespace ferry::datapath
