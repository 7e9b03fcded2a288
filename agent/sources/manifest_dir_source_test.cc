// The manifest directory as a source, on a real directory: the first read
// lists it, then each change is read from the files that changed alone.
#include "agent/sources/manifest_dir_source.h"

#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::sources {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string ServiceYaml(absl::string_view name, int port) {
  return absl::StrCat("apiVersion: v1\nkind: Service\nmetadata: {name: ", name,
                      "}\nspec: {type: LoadBalancer, ports: [{port: ", port, "}]}\n");
}

class ManifestDirSourceTest : public ::testing::Test {
 protected:
  ManifestDirSourceTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-source-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  ~ManifestDirSourceTest() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // As kubectl and editors do: written aside, renamed into place.
  void Write(const std::string& name, absl::string_view content) {
    const std::filesystem::path aside = dir_ / ("." + name + ".tmp");
    std::ofstream(aside) << content;
    std::filesystem::rename(aside, dir_ / name);
  }

  // Polls the source as the loop does until it gives something.
  model::ChangeSet Next(Source& source) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    for (absl::Time now = absl::Now(); now < give_up; now = absl::Now()) {
      model::ChangeSet changes = source.Read(now);
      if (!changes.empty()) return changes;
      const int64_t wait_ms = std::clamp<int64_t>(
          absl::ToInt64Milliseconds(source.Deadline() - absl::Now()) + 1, 0, 100);
      pollfd fd{.fd = source.fd(), .events = POLLIN, .revents = 0};
      poll(&fd, 1, static_cast<int>(wait_ms));
    }
    ADD_FAILURE() << "the source gave nothing";
    return {};
  }

  std::vector<std::string> Summary(const model::ChangeSet& changes) {
    std::vector<std::string> out;
    for (const model::ObjectChange& change : changes.changes) {
      out.push_back(absl::StrCat(change.ref.ToString(), change.object ? "" : " (deleted)"));
    }
    return out;
  }

  std::filesystem::path dir_;
  std::vector<std::string> logged_;
  ManifestDirSource::Log log_ = [this](absl::string_view line) { logged_.emplace_back(line); };
};

TEST_F(ManifestDirSourceTest, ListsFirstThenGivesWhatEachFileChanged) {
  Write("web.yaml", ServiceYaml("web", 80));
  Write("api.yaml", ServiceYaml("api", 80));
  absl::StatusOr<std::unique_ptr<ManifestDirSource>> source =
      ManifestDirSource::Open(dir_, {}, log_);
  ASSERT_TRUE(source.ok()) << source.status();

  const model::ChangeSet listed = Next(**source);
  EXPECT_TRUE(listed.replace_all);
  EXPECT_THAT(Summary(listed), ElementsAre("Service default/api", "Service default/web"));

  Write("web.yaml", ServiceYaml("web", 81));
  const model::ChangeSet edited = Next(**source);
  EXPECT_FALSE(edited.replace_all);
  EXPECT_THAT(Summary(edited), ElementsAre("Service default/web"));
  EXPECT_EQ(edited.changes[0].type, model::ChangeType::kUpdated);

  std::filesystem::remove(dir_ / "api.yaml");
  EXPECT_THAT(Summary(Next(**source)), ElementsAre("Service default/api (deleted)"));

  Write("web.yaml", "spec: [\n");
  const model::ChangeSet broken = Next(**source);
  EXPECT_THAT(broken.changes, IsEmpty());
  ASSERT_TRUE(broken.problems.has_value());
  ASSERT_EQ(broken.problems->files.size(), 1u);
  EXPECT_THAT(broken.problems->files[0].reason, HasSubstr("last good version stays in use"));
}

TEST_F(ManifestDirSourceTest, ADirectoryThatComesBackIsListedAgain) {
  Write("web.yaml", ServiceYaml("web", 80));
  const ManifestDirTiming timing{.rewatch = absl::Milliseconds(10)};
  absl::StatusOr<std::unique_ptr<ManifestDirSource>> source =
      ManifestDirSource::Open(dir_, timing, log_);
  ASSERT_TRUE(source.ok()) << source.status();
  Next(**source);

  const std::filesystem::path aside = dir_.string() + ".aside";
  std::filesystem::rename(dir_, aside);
  // Nothing changes while it is gone...
  for (int i = 0; i < 50 && logged_.empty(); ++i) {
    EXPECT_TRUE((*source)->Read(absl::Now()).empty());
    pollfd fd{.fd = (*source)->fd(), .events = POLLIN, .revents = 0};
    poll(&fd, 1, 20);
  }
  ASSERT_THAT(logged_, ElementsAre(HasSubstr("removed or renamed")));
  // Made whole aside, so that it comes back in one step.
  const std::filesystem::path next = dir_.string() + ".next";
  std::filesystem::create_directory(next);
  std::ofstream(next / "api.yaml") << ServiceYaml("api", 80);
  std::filesystem::rename(next, dir_);
  std::filesystem::remove_all(aside);
  // ...and once it is back it is read whole: web.yaml went with the old one.
  EXPECT_THAT(Summary(Next(**source)),
              ElementsAre("Service default/api", "Service default/web (deleted)"));
  EXPECT_THAT(logged_.back(), HasSubstr("is back"));
}

}  // namespace
}  // namespace ferry::sources
