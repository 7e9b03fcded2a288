#include "test/packet/packet_matchers.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::packet {
namespace {

using Fields = std::vector<DecodedPacket::Field>;

Fields FieldsOrError(std::span<const uint8_t> bytes, FirstLayer first) {
  absl::StatusOr<DecodedPacket> decoded = Decode(bytes, first);
  if (!decoded.ok()) return {{"undecodable", std::string(decoded.status().message())}};
  return decoded->Fields();
}

// Both field lists in one table, in the expected packet's order, then the
// fields only the actual packet has; "!" marks a difference.
std::string SideBySide(const Fields& expected, const Fields& actual) {
  std::map<std::string, std::string> actual_by_name;
  for (const auto& field : actual) actual_by_name[field.name] = field.value;
  size_t name_width = 5, value_width = 8;
  for (const auto& field : expected) {
    name_width = std::max(name_width, field.name.size());
    value_width = std::max(value_width, field.value.size());
  }
  for (const auto& field : actual) name_width = std::max(name_width, field.name.size());
  std::string table = absl::StrFormat("  %-*s  %-*s  %s\n", name_width, "field", value_width, "expected", "actual");
  auto row = [&](const std::string& name, const std::string& want, const std::string& got) {
    absl::StrAppendFormat(&table, "%s %-*s  %-*s  %s\n", want == got ? " " : "!", name_width, name,
                          value_width, want, got);
  };
  std::map<std::string, bool> shown;
  for (const auto& field : expected) {
    auto it = actual_by_name.find(field.name);
    row(field.name, field.value, it == actual_by_name.end() ? "(absent)" : it->second);
    shown[field.name] = true;
  }
  for (const auto& field : actual) {
    if (!shown.contains(field.name)) row(field.name, "(absent)", field.value);
  }
  return table;
}

std::string FirstDifference(std::span<const uint8_t> expected, std::span<const uint8_t> actual) {
  const size_t common = std::min(expected.size(), actual.size());
  for (size_t i = 0; i < common; ++i) {
    if (expected[i] != actual[i]) {
      return absl::StrFormat("first differing byte at offset %d: expected 0x%02x, actual 0x%02x", i,
                             expected[i], actual[i]);
    }
  }
  return absl::StrFormat("lengths differ: expected %d bytes, actual %d", expected.size(), actual.size());
}

}  // namespace

::testing::AssertionResult PacketEq::operator()(const char* expected_expr, const char* actual_expr,
                                                std::span<const uint8_t> expected,
                                                std::span<const uint8_t> actual) const {
  if (std::equal(expected.begin(), expected.end(), actual.begin(), actual.end())) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "packets differ: " << expected_expr << " (expected) vs " << actual_expr << " (actual)\n"
         << SideBySide(FieldsOrError(expected, first_), FieldsOrError(actual, first_))
         << FirstDifference(expected, actual) << "\nexpected bytes:\n"
         << HexDump(expected) << "actual bytes:\n"
         << HexDump(actual);
}

::testing::AssertionResult ChecksumsOk(std::span<const uint8_t> bytes, FirstLayer first) {
  absl::StatusOr<DecodedPacket> decoded = Decode(bytes, first);
  if (decoded.ok() && decoded->checksums_ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "bad checksum or undecodable packet:\n" << Describe(bytes, first);
}

}  // namespace ferry::packet
