#include "agent/ferryd/errors_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/datapath/fd.h"
#include "nlohmann/json.hpp"

namespace ferry::ferryd {
namespace {

absl::Status Errno(absl::string_view what, const std::filesystem::path& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path.string()));
}

}  // namespace

std::string ErrorsJson(absl::string_view node, const AgentErrors& errors) {
  nlohmann::json file_errors = nlohmann::json::array();
  for (const model::FileError& error : errors.file_errors) {
    file_errors.push_back(
        {{"file", error.file}, {"reason", error.reason}, {"message", error.ToString()}});
  }
  nlohmann::json object_errors = nlohmann::json::array();
  for (const model::ObjectError& error : errors.object_errors) {
    const model::ValidationError& v = error.error;
    object_errors.push_back(
        {{"file", error.file},
         {"line", error.line},
         {"kind", v.object.kind},
         {"namespace", v.object.namespace_},
         {"name", v.object.name},
         {"field", v.field},
         {"reason", v.reason},
         {"severity", v.severity == model::Severity::kError ? "error" : "info"},
         {"message", error.ToString()}});
  }
  const nlohmann::json document = {{"node", std::string(node)},
                                   {"file_errors", std::move(file_errors)},
                                   {"object_errors", std::move(object_errors)},
                                   {"problems", errors.problems}};
  return document.dump(2) + "\n";
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
