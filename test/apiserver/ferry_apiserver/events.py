"""Events: kube stores core/v1 and events.k8s.io/v1 Events as one object
seen in two shapes; the store keeps both shapes of each, at the same
resourceVersion, converted as kube's conversion functions do."""

from .catalogue import BUILTIN_RESOURCES

CORE_EVENTS = next(r for r in BUILTIN_RESOURCES if r.plural == "events" and not r.group)
EVENTS = next(r for r in BUILTIN_RESOURCES if r.group == "events.k8s.io")

# events.k8s.io/v1 field -> core/v1 field; the rest have one name in both.
RENAMED = {"regarding": "involvedObject", "note": "message",
           "reportingController": "reportingComponent", "deprecatedSource": "source",
           "deprecatedFirstTimestamp": "firstTimestamp",
           "deprecatedLastTimestamp": "lastTimestamp", "deprecatedCount": "count"}
SHARED = ("metadata", "reason", "type", "eventTime", "series", "action", "related",
          "reportingInstance")


def _convert(obj, names, resource):
    out = {"apiVersion": resource.api_version, "kind": resource.kind}
    for field in SHARED:
        if field in obj:
            out[field] = obj[field]
    for src, dst in names.items():
        if obj.get(src) is not None:
            out[dst] = obj[src]
    return out


def to_core(obj):
    return _convert(obj, RENAMED, CORE_EVENTS)


def to_events_k8s_io(obj):
    return _convert(obj, {dst: src for src, dst in RENAMED.items()}, EVENTS)


def other_shape(res):
    """(resource, converter) of the other shape of `res`'s objects, or None."""
    if res == CORE_EVENTS:
        return EVENTS, to_events_k8s_io
    if res == EVENTS:
        return CORE_EVENTS, to_core
    return None
