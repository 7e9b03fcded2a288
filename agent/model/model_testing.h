// Helpers shared by the model's tests.
#ifndef FERRY_AGENT_MODEL_MODEL_TESTING_H_
#define FERRY_AGENT_MODEL_MODEL_TESTING_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/model/decode.h"
#include "gtest/gtest.h"

namespace ferry::model::testing {

inline DecodedManifest Decode(absl::string_view text) {
  absl::StatusOr<DecodedManifest> decoded = DecodeManifest(text);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? *std::move(decoded) : DecodedManifest{};
}

// Every problem of `text`, printed, in order.
inline std::vector<std::string> Problems(absl::string_view text) {
  std::vector<std::string> printed;
  for (const DecodeProblem& problem : Decode(text).problems) {
    printed.push_back(problem.error.ToString());
  }
  return printed;
}

// A Service whose spec holds nine levels of nine aliases of the level below
// ("billion laughs"): 9^9 (387 million) paths to the innermost list for
// anything that walked the tree yaml-cpp makes of it. The first alias is on
// line 9, column 12.
inline std::string BillionLaughs() {
  std::string text =
      "apiVersion: v1\nkind: Service\nmetadata: {name: lol}\n"
      "spec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n  laughs:\n"
      "    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    const std::string name(1, level);
    const std::string below(1, static_cast<char>(level - 1));
    absl::StrAppend(&text, "    ", name, ": &", name, " [");
    for (int i = 0; i < 9; ++i) absl::StrAppend(&text, i == 0 ? "" : ", ", "*", below);
    absl::StrAppend(&text, "]\n");
  }
  return text;
}

// The only object of `text`, which must be valid and of type T.
template <typename T>
T DecodeOnly(absl::string_view text) {
  DecodedManifest decoded = Decode(text);
  EXPECT_TRUE(decoded.problems.empty()) << decoded.problems.front().error;
  EXPECT_EQ(decoded.objects.size(), 1u);
  if (decoded.objects.size() != 1 || !std::holds_alternative<T>(decoded.objects[0].object)) {
    ADD_FAILURE() << "expected exactly one object of the requested kind";
    return T{};
  }
  return std::get<T>(std::move(decoded.objects[0].object));
}

}  // namespace ferry::model::testing

#endif  // FERRY_AGENT_MODEL_MODEL_TESTING_H_
