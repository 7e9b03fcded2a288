// Helpers shared by the model's tests.
#ifndef FERRY_AGENT_MODEL_MODEL_TESTING_H_
#define FERRY_AGENT_MODEL_MODEL_TESTING_H_

#include <string>
#include <vector>

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
