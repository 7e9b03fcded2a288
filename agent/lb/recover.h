// After a restart: which ids the maps already give to the things in the
// input, so that recomputing the desired state reproduces what the maps hold
// and the reconciler writes nothing that did not change.
#ifndef FERRY_AGENT_LB_RECOVER_H_
#define FERRY_AGENT_LB_RECOVER_H_

#include "agent/lb/desired.h"
#include "agent/lb/map_store.h"
#include "agent/lb/services.h"

namespace ferry::lb {

// Matches, in this order:
// - nodes: the FERRY_NODE_LOCAL entry is this node; any other entry is the
//   input node one of whose addresses is its tunnel_dst;
// - services: a service owns the id of the first of its frontends found in
//   the maps (frontends are claimed as ComputeDesired claims them);
// - backends: an entry is the backend with its address, port and node (the
//   node as matched above).
// Ids the maps hold for anything unmatched are stale: released, and reused
// only after every other free id.
Ids RecoverIds(const LbInput& input, const ActualState& actual, const IdCapacity& capacity);

}  // namespace ferry::lb

#endif  // FERRY_AGENT_LB_RECOVER_H_
