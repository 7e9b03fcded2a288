// HTTP requests to the API server over libcurl's multi interface, driven by
// the agent's loop: one epoll fd (fd()) is readable when a socket or
// curl's timer has work, and Perform does it and says what came. Reads
// (lists, watches) and writes (status, Leases, Events) share the one
// connection.
// Single-threaded: nothing here runs outside Perform, Get and Cancel.
//
// Why libcurl rather than HTTP written here: it is a Debian package that is
// well kept and security-maintained, it speaks HTTP/2 (nghttp2) and
// multiplexes every request to one host on one connection (every list and
// watch of the agent share one TLS connection, as client-go's do), and it
// does TLS with the CA, client certificates from memory, and the rest of
// what a kubeconfig may ask.
#ifndef FERRY_AGENT_K8S_TRANSPORT_H_
#define FERRY_AGENT_K8S_TRANSPORT_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/fd.h"
#include "agent/k8s/config.h"

namespace ferry::k8s {

// What happened to a request during a Perform.
struct TransportEvent {
  uint64_t id = 0;
  long status = 0;    // HTTP status, once known
  std::string data;   // body bytes received, in order
  bool done = false;  // the response ended (after its data)
  std::string error;  // when done: why it did not complete; empty if it did
};

struct TransportStats {
  // Connections curl opened: a request that reused one adds none.
  int64_t connections = 0;
  int64_t requests = 0;
  // Requests that went over HTTP/2.
  int64_t http2_requests = 0;
};

class Transport {
 public:
  // An error when `config` names no server or epoll or libcurl cannot be
  // set up. Files (CA, certificate, key) are libcurl's to read at each new
  // connection; what is wrong with them fails the requests.
  static absl::StatusOr<std::unique_ptr<Transport>> Create(const ClusterConfig& config);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts `GET <server><path>`; its id names it in events. Unavailable
  // when the token file cannot be read and no token was read before.
  absl::StatusOr<uint64_t> Get(const std::string& path) { return Send("GET", path, "", ""); }
  // Starts `<method> <server><path>` with `body` of `content_type` (a
  // write: POST, PUT, PATCH; DELETE and GET send no body); as Get.
  absl::StatusOr<uint64_t> Send(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& content_type);
  // Ends a request; no event of it comes after.
  void Cancel(uint64_t id);

  int fd() const { return epoll_.get(); }
  std::vector<TransportEvent> Perform();
  const TransportStats& stats() const { return stats_; }
  size_t active() const { return requests_.size(); }

 private:
  struct Request;
  struct FileStamp {
    ino_t inode = 0;
    int64_t size = -1;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };

  explicit Transport(const ClusterConfig& config);
  absl::StatusOr<std::string> Token();
  void Count(Request& request, bool ended);
  void Remove(uint64_t id);

  static int OnSocket(void* easy, int socket, int what, void* self, void* socket_data);
  static int OnTimer(void* multi, long timeout_ms, void* self);
  static size_t OnWrite(char* data, size_t size, size_t count, void* request);

  const ClusterConfig config_;
  datapath::Fd epoll_;
  datapath::Fd timer_;
  void* multi_ = nullptr;  // CURLM*
  std::map<uint64_t, std::unique_ptr<Request>> requests_;
  uint64_t next_id_ = 1;
  // The token file as last read: read again when it changed on disk (the
  // kubelet rotates a projected token by replacing the file).
  std::string token_;
  FileStamp token_stamp_;
  TransportStats stats_;
};

}  // namespace ferry::k8s

#endif  // FERRY_AGENT_K8S_TRANSPORT_H_
