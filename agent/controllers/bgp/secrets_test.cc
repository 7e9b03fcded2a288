// Reading a Secret's key from a directory laid out as mounted Secrets.
#include "agent/controllers/bgp/secrets.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::bgp_control {
namespace {

using ::testing::HasSubstr;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("ferry-secrets-", getpid());
    std::filesystem::create_directories(dir_ / "bgp");
    std::ofstream(dir_ / "bgp" / "gw.password") << "s3cret\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(SecretFileTest, ReadsTheKeysFileAsItIs) {
  absl::StatusOr<std::string> value = ReadSecretFile(dir_, "bgp", "gw.password");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "s3cret\n") << "the planner decides about the line break";
}

TEST_F(SecretFileTest, AMissingKeyNamesThePath) {
  absl::StatusOr<std::string> value = ReadSecretFile(dir_, "bgp", "other");
  EXPECT_TRUE(absl::IsUnavailable(value.status())) << value.status();
  EXPECT_THAT(value.status().message(), HasSubstr((dir_ / "bgp" / "other").string()));
  EXPECT_THAT(value.status().message(), HasSubstr("No such file or directory"));
}

TEST_F(SecretFileTest, NamesAndKeysCannotLeaveTheDirectory) {
  for (auto [name, key] : {std::pair{"..", "gw.password"}, std::pair{"bgp/..", "x"},
                           std::pair{"bgp", "../bgp/gw.password"}, std::pair{"bgp", ".."}}) {
    absl::StatusOr<std::string> value = ReadSecretFile(dir_, name, key);
    EXPECT_TRUE(absl::IsInvalidArgument(value.status()))
        << name << " " << key << ": " << value.status();
  }
}

}  // namespace
}  // namespace ferry::bgp_control
