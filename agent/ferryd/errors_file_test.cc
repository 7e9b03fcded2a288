#include "agent/ferryd/errors_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ferry::ferryd {
namespace {

TEST(ErrorsFileTest, NamesFileObjectFieldAndReason) {
  AgentErrors errors;
  errors.file_errors.push_back({.file = "broken.yaml", .reason = "line 3, column 1: bad"});
  errors.object_errors.push_back(
      {.file = "bad.yaml",
       .line = 4,
       .error = {.object = {.kind = "Service", .namespace_ = "default", .name = "bad"},
                 .field = "spec.ports[0].port",
                 .reason = "70000 is not a port (1-65535)",
                 .severity = model::Severity::kError}});
  errors.problems.push_back("node node2: no route");
  const nlohmann::json json = nlohmann::json::parse(ErrorsJson("node1", errors));
  EXPECT_EQ(json["node"], "node1");
  EXPECT_EQ(json["file_errors"][0]["file"], "broken.yaml");
  const nlohmann::json& object = json["object_errors"][0];
  EXPECT_EQ(object["kind"], "Service");
  EXPECT_EQ(object["namespace"], "default");
  EXPECT_EQ(object["name"], "bad");
  EXPECT_EQ(object["field"], "spec.ports[0].port");
  EXPECT_EQ(object["line"], 4);
  EXPECT_EQ(object["severity"], "error");
  EXPECT_THAT(object["message"].get<std::string>(),
              ::testing::HasSubstr("Service default/bad: spec.ports[0].port: 70000"));
  EXPECT_EQ(json["problems"][0], "node node2: no route");
}

TEST(ErrorsFileTest, WritesAtomicallyAndReplaces) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "ferryd_errors_file_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / "errors.json";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), "second, longer");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);  // no temporary left behind
  EXPECT_FALSE(WriteFileAtomically(dir / "missing" / "errors.json", "x").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferry::ferryd
