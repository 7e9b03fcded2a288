#include "l2announce/selector.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::l2announce {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const Labels kWeb = {{"app", "web"}, {"tier", "front"}};

TEST(SelectorTest, EmptySelectorMatchesEverything) {
  EXPECT_TRUE(Matches({}, kWeb));
  EXPECT_TRUE(Matches({}, {}));
}

TEST(SelectorTest, MatchLabelsNeedEveryPair) {
  EXPECT_TRUE(Matches({.match_labels = {{"app", "web"}}}, kWeb));
  EXPECT_FALSE(Matches({.match_labels = {{"app", "web"}, {"tier", "back"}}}, kWeb));
  EXPECT_FALSE(Matches({.match_labels = {{"zone", "a"}}}, kWeb));
}

TEST(SelectorTest, ExpressionsFollowKubernetes) {
  const auto selects = [](SelectorRequirement r, const Labels& labels) {
    return Matches({.match_expressions = {std::move(r)}}, labels);
  };
  EXPECT_TRUE(selects({"app", "In", {"api", "web"}}, kWeb));
  EXPECT_FALSE(selects({"app", "In", {"api"}}, kWeb));
  EXPECT_FALSE(selects({"zone", "In", {"a"}}, kWeb));
  EXPECT_TRUE(selects({"app", "NotIn", {"api"}}, kWeb));
  EXPECT_FALSE(selects({"app", "NotIn", {"web"}}, kWeb));
  EXPECT_TRUE(selects({"zone", "NotIn", {"a"}}, kWeb)) << "NotIn holds when the label is absent";
  EXPECT_TRUE(selects({"tier", "Exists", {}}, kWeb));
  EXPECT_FALSE(selects({"zone", "Exists", {}}, kWeb));
  EXPECT_TRUE(selects({"zone", "DoesNotExist", {}}, kWeb));
  EXPECT_FALSE(selects({"app", "DoesNotExist", {}}, kWeb));
  EXPECT_FALSE(selects({"app", "Matches", {"web"}}, kWeb));
}

TEST(SelectorTest, ValidSelectorHasNoErrors) {
  const LabelSelector selector = {
      .match_labels = {{"kubernetes.io/hostname", "node-1"}, {"empty", ""}},
      .match_expressions = {{"ferry.dev/l2", "In", {"yes"}}, {"edge", "Exists", {}}}};
  EXPECT_THAT(ValidateSelector(selector, "spec.nodeSelector"), IsEmpty());
}

TEST(SelectorTest, ErrorsNameTheFieldAndReason) {
  const LabelSelector selector = {
      .match_labels = {{"bad key!", "x"}, {"Bad.Prefix/name", "y"}, {"ok", "-leading-dash"}},
      .match_expressions = {{"app", "Equals", {"web"}},
                            {"app", "In", {}},
                            {"app", "Exists", {"web"}}}};
  const std::vector<FieldError> errors = ValidateSelector(selector, "spec.serviceSelector");
  EXPECT_THAT(
      errors,
      ElementsAre(
          Field(&FieldError::field, "spec.serviceSelector.matchLabels[\"Bad.Prefix/name\"]"),
          Field(&FieldError::field, "spec.serviceSelector.matchLabels[\"bad key!\"]"),
          Field(&FieldError::field, "spec.serviceSelector.matchLabels[\"ok\"]"),
          Field(&FieldError::field, "spec.serviceSelector.matchExpressions[0].operator"),
          Field(&FieldError::field, "spec.serviceSelector.matchExpressions[1].values"),
          Field(&FieldError::field, "spec.serviceSelector.matchExpressions[2].values")));
  EXPECT_THAT(errors[0].reason, HasSubstr("DNS subdomain"));
  EXPECT_THAT(errors[3].ToString(), HasSubstr("\"Equals\" is not one of In, NotIn"));
  EXPECT_THAT(errors[4].reason, HasSubstr("needs at least one value"));
  EXPECT_THAT(errors[5].reason, HasSubstr("takes no values"));
}

TEST(SelectorTest, LongNamesAreRefused) {
  const std::string long_name(64, 'a');
  EXPECT_THAT(ValidateSelector({.match_labels = {{long_name, "x"}}}, "s"), testing::SizeIs(1));
  EXPECT_THAT(ValidateSelector({.match_labels = {{"x", long_name}}}, "s"), testing::SizeIs(1));
  EXPECT_THAT(ValidateSelector({.match_labels = {{std::string(63, 'a'), std::string(63, 'b')}}}, "s"),
              IsEmpty());
}

}  // namespace
}  // namespace ferry::l2announce
