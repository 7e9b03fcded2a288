#include "agent/lb/map_store.h"

namespace ferry::lb {

absl::StatusOr<ActualState> ReadActual(const MapStore& store) {
  ActualState actual;
  absl::StatusOr<Entries<ferry_frontend_key, ferry_frontend>> frontends = store.ListFrontends();
  if (!frontends.ok()) return frontends.status();
  absl::StatusOr<Entries<uint32_t, ferry_backend>> backends = store.ListBackends();
  if (!backends.ok()) return backends.status();
  absl::StatusOr<Entries<uint32_t, ferry_node>> nodes = store.ListNodes();
  if (!nodes.ok()) return nodes.status();
  actual.frontends = std::move(*frontends);
  actual.backends = std::move(*backends);
  actual.nodes = std::move(*nodes);
  return actual;
}

}  // namespace ferry::lb
