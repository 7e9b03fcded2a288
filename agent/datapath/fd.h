// An owned file descriptor, closed when it goes out of scope. Map and
// program fds are handed around by value between the loader, LbMaps and the
// tools, so ownership has to be explicit.
#ifndef FERRY_AGENT_DATAPATH_FD_H_
#define FERRY_AGENT_DATAPATH_FD_H_

#include <utility>

namespace ferry::datapath {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace ferry::datapath

#endif  // FERRY_AGENT_DATAPATH_FD_H_
