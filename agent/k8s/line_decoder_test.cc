#include "agent/k8s/line_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::k8s {
namespace {

using ::testing::HasSubstr;

std::vector<int> Numbers(const std::vector<nlohmann::json>& objects) {
  std::vector<int> numbers;
  for (const nlohmann::json& object : objects) numbers.push_back(object["n"].get<int>());
  return numbers;
}

TEST(LineDecoderTest, LinesSplitAnywhereComeOutWhole) {
  const std::string stream = "{\"n\": 1}\n{\"n\": 2, \"s\": \"a\\nb\"}\n\n{\"n\": 3}\n";
  // Every way of cutting the stream in two gives the same objects.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    LineDecoder decoder;
    absl::StatusOr<std::vector<nlohmann::json>> first = decoder.Feed(stream.substr(0, cut));
    absl::StatusOr<std::vector<nlohmann::json>> second = decoder.Feed(stream.substr(cut));
    ASSERT_TRUE(first.ok() && second.ok()) << cut;
    std::vector<int> all = Numbers(*first);
    for (int n : Numbers(*second)) all.push_back(n);
    EXPECT_EQ(all, (std::vector<int>{1, 2, 3})) << "cut at " << cut;
    EXPECT_EQ(decoder.pending(), 0u);
  }
}

TEST(LineDecoderTest, ByteByByte) {
  LineDecoder decoder;
  std::vector<int> all;
  for (char c : std::string("{\"n\": 7}\r\n{\"n\": 8}\n{\"n\"")) {
    absl::StatusOr<std::vector<nlohmann::json>> objects = decoder.Feed(std::string(1, c));
    ASSERT_TRUE(objects.ok());
    for (int n : Numbers(*objects)) all.push_back(n);
  }
  EXPECT_EQ(all, (std::vector<int>{7, 8}));
  EXPECT_EQ(decoder.pending(), 4u);
}

TEST(LineDecoderTest, NotJsonIsAnError) {
  LineDecoder decoder;
  absl::StatusOr<std::vector<nlohmann::json>> objects = decoder.Feed("{\"n\": 1}\nnot json\n");
  ASSERT_FALSE(objects.ok());
  EXPECT_THAT(objects.status().message(), HasSubstr("not a JSON object: \"not json\""));
  EXPECT_FALSE(decoder.Feed("[1, 2]\n").ok());
}

TEST(LineDecoderTest, OverlongLineIsAnErrorAndNotKept) {
  LineDecoder decoder(/*max_line=*/16);
  ASSERT_TRUE(decoder.Feed("{\"n\": 1, ").ok());
  absl::StatusOr<std::vector<nlohmann::json>> objects =
      decoder.Feed("\"padding\": \"xxxxxxxx\"}\n");
  ASSERT_FALSE(objects.ok());
  EXPECT_THAT(objects.status().message(), HasSubstr("longer than 16 bytes"));
  EXPECT_EQ(decoder.pending(), 0u);
}

}  // namespace
}  // namespace ferry::k8s
