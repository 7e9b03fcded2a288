// Label selectors as the API server validates and matches them.
#include "net/selector.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const Labels kWeb = {{"app", "web"}, {"tier", "front"}};

LabelSelector Parsed(const LabelSelectorSpec& spec) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(spec, "s");
  EXPECT_TRUE(selector.ok()) << selector.status();
  return selector.ok() ? *std::move(selector) : LabelSelector();
}

bool Selects(LabelSelectorRequirementSpec requirement, const Labels& labels) {
  return Parsed({.match_expressions = {std::move(requirement)}}).Matches(labels);
}

TEST(SelectorTest, EmptySelectorMatchesEverything) {
  EXPECT_TRUE(LabelSelector().Matches(kWeb));
  EXPECT_TRUE(Parsed({}).Matches(kWeb));
  EXPECT_TRUE(Parsed({}).Matches({}));
  EXPECT_TRUE(Parsed({}).empty());
  EXPECT_FALSE(Parsed({.match_labels = {{"app", "web"}}}).empty());
}

TEST(SelectorTest, MatchLabelsNeedEveryPair) {
  EXPECT_TRUE(Parsed({.match_labels = {{"app", "web"}}}).Matches(kWeb));
  EXPECT_FALSE(Parsed({.match_labels = {{"app", "web"}, {"tier", "back"}}}).Matches(kWeb));
  EXPECT_FALSE(Parsed({.match_labels = {{"zone", "a"}}}).Matches(kWeb));
  EXPECT_TRUE(Parsed({.match_labels = {{"empty", ""}}}).Matches({{"empty", ""}}));
  EXPECT_FALSE(Parsed({.match_labels = {{"empty", ""}}}).Matches({}));
}

TEST(SelectorTest, ExpressionsFollowKubernetes) {
  EXPECT_TRUE(Selects({"app", "In", {"api", "web"}}, kWeb));
  EXPECT_FALSE(Selects({"app", "In", {"api"}}, kWeb));
  EXPECT_FALSE(Selects({"zone", "In", {"a"}}, kWeb)) << "In needs the label";
  EXPECT_TRUE(Selects({"app", "NotIn", {"api"}}, kWeb));
  EXPECT_FALSE(Selects({"app", "NotIn", {"web"}}, kWeb));
  EXPECT_TRUE(Selects({"zone", "NotIn", {"a"}}, kWeb)) << "NotIn holds when the label is absent";
  EXPECT_TRUE(Selects({"tier", "Exists", {}}, kWeb));
  EXPECT_FALSE(Selects({"zone", "Exists", {}}, kWeb));
  EXPECT_TRUE(Selects({"zone", "DoesNotExist", {}}, kWeb));
  EXPECT_FALSE(Selects({"app", "DoesNotExist", {}}, kWeb));
}

TEST(SelectorTest, EveryRequirementMustHold) {
  const LabelSelector selector = Parsed({.match_labels = {{"app", "web"}},
                                         .match_expressions = {{"tier", "In", {"a", "b"}},
                                                               {"env", "NotIn", {"dev"}},
                                                               {"public", "Exists", {}},
                                                               {"legacy", "DoesNotExist", {}}}});
  const Labels base = {{"app", "web"}, {"tier", "a"}, {"public", ""}};
  EXPECT_TRUE(selector.Matches(base));
  const auto changed = [&](const std::string& key, const std::string* value) {
    Labels labels = base;
    if (value == nullptr) {
      labels.erase(key);
    } else {
      labels[key] = *value;
    }
    return selector.Matches(labels);
  };
  const std::string db = "db", c = "c", dev = "dev", prod = "prod", yes = "yes";
  EXPECT_FALSE(changed("app", &db));
  EXPECT_FALSE(changed("tier", &c));
  EXPECT_FALSE(changed("env", &dev));
  EXPECT_TRUE(changed("env", &prod));
  EXPECT_FALSE(changed("public", nullptr));
  EXPECT_FALSE(changed("legacy", &yes));
}

TEST(SelectorTest, ValidSelectorHasNoErrors) {
  const LabelSelectorSpec spec = {
      .match_labels = {{"kubernetes.io/hostname", "node-1"}, {"empty", ""}},
      .match_expressions = {{"ferry.dev/l2", "In", {"yes", "Y_1.a"}}, {"edge", "Exists", {}}}};
  EXPECT_THAT(ValidateSelector(spec, "spec.nodeSelector"), IsEmpty());
  EXPECT_TRUE(LabelSelector::Parse(spec, "spec.nodeSelector").ok());
}

TEST(SelectorTest, ErrorsNameTheFieldAndReason) {
  const LabelSelectorSpec spec = {
      .match_labels = {{"bad key!", "x"}, {"Bad.Prefix/name", "y"}, {"ok", "-leading-dash"}},
      .match_expressions = {{"app", "Equals", {"web"}},
                            {"app", "In", {}},
                            {"app", "Exists", {"web"}},
                            {"", "DoesNotExist", {}},
                            {"app", "NotIn", {"a", "b c"}}}};
  EXPECT_THAT(
      ValidateSelector(spec, "spec.serviceSelector"),
      ElementsAre(
          FieldError{"spec.serviceSelector.matchLabels[Bad.Prefix/name]",
                     "label key \"Bad.Prefix/name\": the prefix before '/' must be a DNS-1123 "
                     "subdomain (at most 253 lowercase letters, digits, '-' and '.')"},
          FieldError{"spec.serviceSelector.matchLabels[bad key!]",
                     "label key \"bad key!\": the name must be 1-63 letters, digits, '-', '_' "
                     "and '.', starting and ending with a letter or digit"},
          FieldError{"spec.serviceSelector.matchLabels[ok]",
                     "label value \"-leading-dash\" must be empty or 1-63 letters, digits, '-', "
                     "'_' and '.', starting and ending with a letter or digit"},
          FieldError{"spec.serviceSelector.matchExpressions[0].operator",
                     "\"Equals\" is not one of In, NotIn, Exists, DoesNotExist"},
          FieldError{"spec.serviceSelector.matchExpressions[1].values",
                     "In needs at least one value"},
          FieldError{"spec.serviceSelector.matchExpressions[2].values", "Exists takes no values"},
          FieldError{"spec.serviceSelector.matchExpressions[3].key",
                     "a label key must not be empty"},
          FieldError{"spec.serviceSelector.matchExpressions[4].values[1]",
                     "label value \"b c\" must be empty or 1-63 letters, digits, '-', '_' and "
                     "'.', starting and ending with a letter or digit"}));
}

TEST(SelectorTest, ParseRefusesWhatValidateReports) {
  const absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(
      {.match_expressions = {{"app", "Equals", {}}, {"app", "In", {}}}}, "spec.nodeSelector");
  EXPECT_EQ(selector.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(selector.status().message(),
            "spec.nodeSelector.matchExpressions[0].operator: \"Equals\" is not one of In, NotIn, "
            "Exists, DoesNotExist; spec.nodeSelector.matchExpressions[1].values: In needs at least "
            "one value");
}

TEST(SelectorTest, KeyShapes) {
  const auto key_errors = [](const std::string& key) {
    return ValidateSelector({.match_expressions = {{key, "Exists", {}}}}, "s");
  };
  EXPECT_THAT(key_errors("a/b/c"), SizeIs(1)) << "one '/' at most";
  EXPECT_THAT(key_errors("/name"), SizeIs(1)) << "an empty prefix";
  EXPECT_THAT(key_errors("ferry.dev/"), SizeIs(1)) << "an empty name";
  EXPECT_THAT(key_errors("UPPER_case.Name-1"), IsEmpty()) << "names may use capitals and '_'";
  EXPECT_THAT(key_errors(std::string(254, 'a') + "/x"), SizeIs(1));
}

TEST(SelectorTest, LongNamesAreRefused) {
  const std::string long_name(64, 'a');
  EXPECT_THAT(ValidateSelector({.match_labels = {{long_name, "x"}}}, "s"), SizeIs(1));
  EXPECT_THAT(ValidateSelector({.match_labels = {{"x", long_name}}}, "s"), SizeIs(1));
  EXPECT_THAT(
      ValidateSelector({.match_labels = {{std::string(63, 'a'), std::string(63, 'b')}}}, "s"),
      IsEmpty());
}

TEST(SelectorTest, FieldErrorPrintsFieldThenReason) {
  EXPECT_EQ(FieldError({"spec.a", "why"}).ToString(), "spec.a: why");
  EXPECT_EQ(JoinFieldErrors({{"a", "x"}, {"b", "y"}}), "a: x; b: y");
  EXPECT_THAT(JoinFieldErrors({}), IsEmpty());
}

}  // namespace
}  // namespace ferry::net
