#include "agent/controllers/ipam/driver.h"

#include <map>
#include <string>
#include <vector>

#include "agent/controllers/examples_testing.h"
#include "agent/model/manifest_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const model::ObjectRef kWeb{std::string(model::kServiceKind), "default", "web"};

model::Model ExampleModel(bool with_pools) {
  std::map<std::string, absl::StatusOr<std::string>> files = {
      {"service.yaml", ReadExample("service.yaml")}};
  if (with_pools) files["pools.yaml"] = ReadExample("pools.yaml");
  model::LoadResult loaded = model::LoadManifests(files, {});
  EXPECT_THAT(loaded.file_errors, IsEmpty());
  return loaded.model;
}

// One run of the driver over `model`, as the agent's loop makes it.
Pass RunOnce(IpamDriver& driver, const model::Model& model, const model::ModelDelta& delta,
             bool first) {
  static const std::vector<model::ObjectError> kNoErrors;
  Pass pass{.model = model, .delta = delta, .object_errors = kNoErrors, .first = first};
  driver.Run(pass);
  return pass;
}

TEST(IpamDriverTest, TheFirstRunAddsTheServicesGrantedVipsToThePass) {
  IpamDriver driver([] { return absl::UnixEpoch(); }, [](absl::string_view) {});
  const model::Model model = ExampleModel(/*with_pools=*/true);
  Pass pass = RunOnce(driver, model, {}, /*first=*/true);
  EXPECT_THAT(pass.services, ElementsAre(kWeb));
  EXPECT_TRUE(pass.status_changed);
  EXPECT_EQ(driver.vips().at(kWeb).size(), 2u);
}

TEST(IpamDriverTest, AServiceWhoseVipsStayIsNotAddedAgain) {
  IpamDriver driver([] { return absl::UnixEpoch(); }, [](absl::string_view) {});
  const model::Model model = ExampleModel(/*with_pools=*/true);
  RunOnce(driver, model, {}, /*first=*/true);
  Pass pass = RunOnce(driver, model, {.changed = {kWeb}}, /*first=*/false);
  EXPECT_THAT(pass.services, IsEmpty());
}

TEST(IpamDriverTest, ChangesOfOtherKindsDoNotRunIt) {
  IpamDriver driver([] { return absl::UnixEpoch(); }, [](absl::string_view) {});
  RunOnce(driver, ExampleModel(/*with_pools=*/false), {}, /*first=*/true);
  // The pools appear in the model, but the pass says only a Node changed.
  const model::Model with_pools = ExampleModel(/*with_pools=*/true);
  Pass pass = RunOnce(driver, with_pools, {.changed = {{std::string(model::kNodeKind), "", "node1"}}}, /*first=*/false);
  EXPECT_THAT(pass.services, IsEmpty());
  EXPECT_FALSE(pass.status_changed);
  EXPECT_THAT(driver.vips(), IsEmpty());
}

TEST(IpamDriverTest, APoolThatChangedMovesTheServicesItsVipsCameFrom) {
  IpamDriver driver([] { return absl::UnixEpoch(); }, [](absl::string_view) {});
  RunOnce(driver, ExampleModel(/*with_pools=*/false), {}, /*first=*/true);
  const model::Model with_pools = ExampleModel(/*with_pools=*/true);
  Pass pass = RunOnce(
      driver, with_pools,
      {.changed = {{std::string(model::kLoadBalancerIPPoolKind), "", "any"}}}, /*first=*/false);
  EXPECT_THAT(pass.services, ElementsAre(kWeb));
  EXPECT_TRUE(pass.status_changed);
}

}  // namespace
}  // namespace ferry::ferryd
