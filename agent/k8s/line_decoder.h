// A watch's body: JSON objects, one a line, cut into chunks anywhere by the
// network. Whole lines out, however the bytes came in.
#ifndef FERRY_AGENT_K8S_LINE_DECODER_H_
#define FERRY_AGENT_K8S_LINE_DECODER_H_

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::k8s {

class LineDecoder {
 public:
  // A line longer than this is an error: a server that never ends a line
  // must not make the agent hold its whole stream.
  explicit LineDecoder(size_t max_line = 64 << 20) : max_line_(max_line) {}

  // The objects the chunk completes, in order; empty lines are skipped. An
  // error when a line is not JSON or too long: the stream is then unusable
  // (the caller drops it), and the decoder keeps nothing of it.
  absl::StatusOr<std::vector<nlohmann::json>> Feed(absl::string_view chunk);

  // Bytes of a line not yet ended.
  size_t pending() const { return partial_.size(); }
  void Reset() { partial_.clear(); }

 private:
  const size_t max_line_;
  std::string partial_;
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_LINE_DECODER_H_
