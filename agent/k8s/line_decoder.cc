#include "agent/k8s/line_decoder.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ferry::k8s {

absl::StatusOr<std::vector<nlohmann::json>> LineDecoder::Feed(absl::string_view chunk) {
  std::vector<nlohmann::json> objects;
  while (!chunk.empty()) {
    const size_t end = chunk.find('\n');
    const absl::string_view piece = chunk.substr(0, end);
    if (partial_.size() + piece.size() > max_line_) {
      Reset();
      return absl::ResourceExhaustedError(
          absl::StrCat("a watch line is longer than ", max_line_, " bytes"));
    }
    if (end == absl::string_view::npos) {
      partial_.append(piece.data(), piece.size());
      break;
    }
    chunk.remove_prefix(end + 1);
    // Most lines arrive whole: parse them in place, without a copy.
    absl::string_view line = piece;
    if (!partial_.empty()) {
      partial_.append(piece.data(), piece.size());
      line = partial_;
    }
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) {
      nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (object.is_discarded() || !object.is_object()) {
        Reset();
        return absl::InvalidArgumentError(absl::StrCat("a watch line is not a JSON object: \"",
                                                       line.substr(0, 80),
                                                       line.size() > 80 ? "..." : "", "\""));
      }
      objects.push_back(std::move(object));
    }
    partial_.clear();
  }
  return objects;
}

}  // namespace ferry::k8s
