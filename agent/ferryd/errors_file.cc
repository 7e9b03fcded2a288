#include "agent/ferryd/errors_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/datapath/fd.h"
#include "agent/ferryd/api_view.h"
#include "agent/api/json.h"

namespace ferry::ferryd {
namespace {

absl::Status Errno(absl::string_view what, const std::filesystem::path& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path.string()));
}

}  // namespace

std::string ErrorsJson(absl::string_view node, const AgentErrors& errors) {
  return api::ToJson(ErrorsOf(node, errors));
}

absl::Status WriteFileAtomically(const std::filesystem::path& path, absl::string_view content) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    datapath::Fd file(open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.get() < 0) return Errno("creating", temporary);
    for (size_t done = 0; done < content.size();) {
      const ssize_t written = write(file.get(), content.data() + done, content.size() - done);
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) return Errno("writing", temporary);
      done += static_cast<size_t>(written);
    }
    if (fsync(file.get()) != 0) return Errno("syncing", temporary);
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) return Errno("renaming over", path);
  const std::filesystem::path directory =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  datapath::Fd dir(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || fsync(dir.get()) != 0) return Errno("syncing", directory);
  return absl::OkStatus();
}

}  // namespace ferry::ferryd
