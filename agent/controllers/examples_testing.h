// The manifests shipped in deploy/examples, for the agent's unit tests.
#ifndef FERRY_AGENT_CONTROLLERS_EXAMPLES_TESTING_H_
#define FERRY_AGENT_CONTROLLERS_EXAMPLES_TESTING_H_

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ferry::ferryd {

// deploy/examples/<name>'s text; empty if it cannot be read.
inline std::string ReadExample(const std::string& name) {
  std::ifstream file(std::filesystem::path(FERRY_SOURCE_DIR) / "deploy/examples" / name);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace ferry::ferryd

#endif  // FERRY_AGENT_CONTROLLERS_EXAMPLES_TESTING_H_
