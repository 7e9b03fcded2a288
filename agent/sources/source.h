// Where the agent's objects come from: a manifest directory today
// (manifest_dir_source.h), the Kubernetes API's list and watch next. A
// source hands the loop typed changes (agent/model/change.h) as they
// happen; the loop polls its fd and calls Read when it is readable or its
// deadline has come.
#ifndef FERRY_AGENT_SOURCES_SOURCE_H_
#define FERRY_AGENT_SOURCES_SOURCE_H_

#include "absl/time/time.h"
#include "agent/model/change.h"

namespace ferry::sources {

class Source {
 public:
  virtual ~Source() = default;

  // Readable when the source has news; -1 while it has nothing to wait on
  // (its deadline then says when to try again).
  virtual int fd() const = 0;
  // When Read must be called even if fd stays quiet (a burst of changes
  // settled, a lost watch to retry); absl::InfiniteFuture() when never.
  virtual absl::Time Deadline() const = 0;
  // Takes in what fd has and returns the changes that are due, if any. The
  // first changes a source gives are a full list (replace_all), as is any
  // relist after it lost track.
  virtual model::ChangeSet Read(absl::Time now) = 0;
};

}  // namespace ferry::sources

#endif  // FERRY_AGENT_SOURCES_SOURCE_H_
