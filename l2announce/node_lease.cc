#include "l2announce/node_lease.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ferry::l2announce {
namespace {

constexpr const char* kRenewTimeFormat = "%Y-%m-%dT%H:%M:%E6SZ";  // metav1.MicroTime
constexpr const char* kLeaseSuffix = ".json";

nlohmann::json LeaseJson(const NodeLease& lease) {
  return {
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", lease.node}}},
      {"spec",
       {{"holderIdentity", lease.node},
        {"leaseDurationSeconds", absl::ToInt64Seconds(lease.duration)},
        {"renewTime", absl::FormatTime(kRenewTimeFormat, lease.renew_time, absl::UTCTimeZone())}}},
  };
}

absl::StatusOr<NodeLease> ParseLease(const std::string& text) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("not JSON");
  const auto spec = json.find("spec");
  if (spec == json.end() || !spec->is_object()) return absl::InvalidArgumentError("no spec");
  const auto holder = spec->find("holderIdentity");
  const auto seconds = spec->find("leaseDurationSeconds");
  const auto renew = spec->find("renewTime");
  if (holder == spec->end() || !holder->is_string() || holder->get<std::string>().empty()) {
    return absl::InvalidArgumentError("spec.holderIdentity: not a node name");
  }
  if (seconds == spec->end() || !seconds->is_number_integer() || seconds->get<int64_t>() <= 0) {
    return absl::InvalidArgumentError("spec.leaseDurationSeconds: not a positive integer");
  }
  NodeLease lease{.node = holder->get<std::string>(),
                  .duration = absl::Seconds(seconds->get<int64_t>())};
  std::string error;
  if (renew == spec->end() || !renew->is_string() ||
      !absl::ParseTime(absl::RFC3339_full, renew->get<std::string>(), &lease.renew_time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("spec.renewTime: not an RFC 3339 time ", error));
  }
  return lease;
}

absl::Status ErrnoError(const std::string& what) {
  return absl::ErrnoToStatus(errno, what);
}

// Writes text to path through a temporary file, fsynced before the rename.
absl::Status WriteAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(absl::StrCat("creating ", temporary.string()));
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       fsync(fd) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!written) {
    errno = saved_errno;
    unlink(temporary.c_str());
    return ErrnoError(absl::StrCat("writing ", temporary.string()));
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status status = ErrnoError(absl::StrCat("renaming to ", path.string()));
    unlink(temporary.c_str());
    return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DirectoryLeaseStore::Write(const NodeLease& lease) {
  if (lease.node.empty() || lease.node.find('/') != std::string::npos || lease.node[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("lease node name \"", lease.node, "\" cannot be a file name"));
  }
  return WriteAtomically(dir_ / (lease.node + kLeaseSuffix), LeaseJson(lease).dump(2) + "\n");
}

absl::StatusOr<LeaseListing> DirectoryLeaseStore::List() const {
  std::error_code error;
  std::filesystem::directory_iterator entries(dir_, error);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("lease directory ", dir_.string(), ": ", error.message()));
  }
  LeaseListing listing;
  for (const std::filesystem::directory_entry& entry : entries) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != kLeaseSuffix || !entry.is_regular_file()) continue;
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<NodeLease> lease = ParseLease(text.str());
    if (!lease.ok()) {
      listing.problems.push_back(absl::StrCat(path.string(), ": ", lease.status().message()));
    } else if (lease->node != path.stem().string()) {
      listing.problems.push_back(absl::StrCat(path.string(), ": holds the lease of ", lease->node));
    } else {
      listing.leases.push_back(*std::move(lease));
    }
  }
  std::sort(listing.leases.begin(), listing.leases.end(),
            [](const NodeLease& a, const NodeLease& b) { return a.node < b.node; });
  return listing;
}

absl::Status Validate(const LeaseConfig& config) {
  if (config.renew_interval < absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease renew_interval ", absl::FormatDuration(config.renew_interval),
                     " is below 10s: one write per node per 10s is the budget"));
  }
  if (config.duration <= config.renew_interval) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease duration ", absl::FormatDuration(config.duration),
                     " must exceed renew_interval ", absl::FormatDuration(config.renew_interval)));
  }
  return absl::OkStatus();
}

LeaseRenewer::LeaseRenewer(std::string node, LeaseConfig config)
    : node_(std::move(node)), config_(config) {}

std::optional<NodeLease> LeaseRenewer::Due(absl::Time now) const {
  if (now < NextDue()) return std::nullopt;
  return NodeLease{node_, now, config_.duration};
}

absl::Time LeaseRenewer::NextDue() const {
  return last_written_ ? *last_written_ + config_.renew_interval : absl::InfinitePast();
}

std::vector<std::string> LiveNodes(std::span<const NodeLease> leases,
                                   const MembershipTracker& tracker, const std::string& self,
                                   absl::Time wall_now, absl::Time monotonic_now) {
  std::vector<std::string> nodes = {self};
  for (const std::string& peer : tracker.AlivePeers(monotonic_now)) {
    auto lease = std::find_if(leases.begin(), leases.end(),
                              [&](const NodeLease& l) { return l.node == peer; });
    if (lease == leases.end() || !lease->ExpiredAt(wall_now)) nodes.push_back(peer);
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

std::vector<std::string> UnleasedPeers(std::span<const NodeLease> leases,
                                       const MembershipTracker& tracker,
                                       absl::Time monotonic_now) {
  std::vector<std::string> unleased;
  for (const std::string& peer : tracker.AlivePeers(monotonic_now)) {
    if (std::none_of(leases.begin(), leases.end(),
                     [&](const NodeLease& l) { return l.node == peer; })) {
      unleased.push_back(peer);
    }
  }
  return unleased;
}

}  // namespace ferry::l2announce
