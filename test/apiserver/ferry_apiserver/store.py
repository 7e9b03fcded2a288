"""All objects, one resourceVersion counter, the change history and the watch hub."""

import asyncio
import bisect
import collections
import copy
import dataclasses
import datetime
import uuid

from .catalogue import CRD_RESOURCE, NAMESPACES, SERVICES, resources_of_crd
from .constants import NAMESPACES_AT_START
from .events import other_shape
from .errors import ApiError, already_exists, gone, not_found, too_large
from .selectors import fields_match, labels_match


@dataclasses.dataclass
class Change:
    rv: int
    res_key: tuple
    type: str            # ADDED, MODIFIED, DELETED
    obj: dict            # as stored after the change (DELETED: last state, new rv)
    prev: dict = None    # before the change


class Watcher:
    """One watch stream's queue. Bounded: a watcher that falls behind by
    `limit` events is closed, as kube-apiserver closes slow watchers."""

    def __init__(self, res, namespace, labels, fields, limit):
        self.res, self.namespace, self.labels, self.fields = res, namespace, labels, fields
        self.limit = limit
        self.events = collections.deque()
        self.wake = asyncio.Event()
        self.closed = None  # why, once closed
        self.close_after_drain = False  # a watch that only reports 410 Gone

    def matches(self, obj):
        if obj is None:
            return False
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return False
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)

    def offer(self, change, replay=False):
        """Queues what this watcher sees of `change` (kube's cacher rules:
        an object leaving the selector is DELETED, one entering is ADDED)."""
        if change.type == "DELETED":
            new_ok, old_ok = False, self.matches(change.obj)
        else:
            new_ok = self.matches(change.obj)
            old_ok = change.type == "MODIFIED" and self.matches(change.prev)
        if new_ok and old_ok:
            event = ("MODIFIED", change.obj)
        elif new_ok:
            event = ("ADDED", change.obj)
        elif old_ok and change.type == "DELETED":
            event = ("DELETED", change.obj)
        elif old_ok:
            gone_obj = copy.deepcopy(change.prev)
            gone_obj["metadata"]["resourceVersion"] = str(change.rv)
            event = ("DELETED", gone_obj)
        else:
            return
        self.push(event, replay)

    def push(self, event, replay=False):
        if self.closed:
            return
        if not replay and len(self.events) >= self.limit:
            self.close("watcher fell behind")
            return
        self.events.append(event)
        self.wake.set()

    def close(self, why):
        if not self.closed:
            self.closed = why
            self.events.clear()
            self.wake.set()


class Store:
    """All objects, one resourceVersion counter and the change history that
    watches replay and paginated lists read their snapshot from."""

    def __init__(self, catalogue, services, history_limit, watch_queue_limit):
        self.catalogue, self.services = catalogue, services
        self.rv = 0
        self.objects = collections.defaultdict(dict)   # res_key -> {(ns, name): obj}
        self.history = collections.deque()
        self.history_limit = history_limit
        self.compacted_rv = 0   # changes at or below it are forgotten
        self.watchers = set()
        self.watch_queue_limit = watch_queue_limit
        self.snapshots = collections.OrderedDict()     # (res_key, rv) -> sorted items
        self.stalled = False
        for name in NAMESPACES_AT_START:
            self.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": name}, "status": {"phase": "Active"}})

    # -- reads

    def get(self, res, namespace, name):
        obj = self.objects[res.key].get((namespace or "", name))
        if obj is None:
            raise not_found(res, name)
        return obj

    def snapshot(self, res, rv):
        """The resource's objects at `rv`, sorted by (namespace, name)."""
        if rv < self.compacted_rv:
            raise gone(f"too old resource version: {rv} ({self.compacted_rv})")
        if rv > self.rv:
            raise too_large(rv, self.rv)
        cache_key = (res.key, rv)
        if cache_key in self.snapshots:
            self.snapshots.move_to_end(cache_key)
            return self.snapshots[cache_key]
        state = dict(self.objects[res.key])
        for change in reversed(self.history):
            if change.rv <= rv:
                break
            if change.res_key != res.key:
                continue
            key = (change.obj["metadata"].get("namespace", ""), change.obj["metadata"]["name"])
            if change.type == "ADDED":
                state.pop(key, None)
            else:
                state[key] = change.prev
        items = sorted(state.items())
        self.snapshots[cache_key] = items
        while len(self.snapshots) > 8:
            self.snapshots.popitem(last=False)
        return items

    # -- writes

    def _commit(self, res, change_type, obj, prev):
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        mirror = other_shape(res)
        if mirror:
            mirror_res, convert = mirror
            self._record(mirror_res, change_type, convert(obj), prev and convert(prev))
        return self._record(res, change_type, obj, prev)

    def _record(self, res, change_type, obj, prev):
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if change_type == "DELETED":
            del self.objects[res.key][key]
        else:
            self.objects[res.key][key] = obj
        change = Change(self.rv, res.key, change_type, obj, prev)
        if res == SERVICES:
            self.services.track(change)
        self.history.append(change)
        while len(self.history) > self.history_limit:
            self.compacted_rv = self.history.popleft().rv
        for watcher in list(self.watchers):
            if watcher.res.key == res.key:
                watcher.offer(change)
        return obj

    def create(self, res, obj):
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if key in self.objects[res.key]:
            raise already_exists(res, meta["name"])
        if res.namespaced and ("", meta["namespace"]) not in self.objects[NAMESPACES.key]:
            raise ApiError(404, "NotFound", f'namespaces "{meta["namespace"]}" not found',
                           {"name": meta["namespace"], "kind": "namespaces"})
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
        if res.has_generation:
            meta["generation"] = 1
        if res == CRD_RESOURCE:
            self.catalogue.set_crd(obj)
        return self._commit(res, "ADDED", obj, None)

    def update(self, res, stored, obj):
        """Writes `obj` over `stored` unless nothing changed (kube makes no
        new resourceVersion for a no-op write)."""
        if without_rv(obj) == without_rv(stored):
            return stored
        if res == CRD_RESOURCE:
            self.catalogue.set_crd(obj, stored)
        return self._commit(res, "MODIFIED", obj, stored)

    def delete(self, res, stored):
        if res == NAMESPACES:
            name = stored["metadata"]["name"]
            for key in list(self.objects):
                r = self.catalogue.find(*key)
                if r is None or not r.namespaced:
                    continue
                for (ns, _), obj in list(self.objects[key].items()):
                    if ns == name:
                        self._commit(r, "DELETED", obj, obj)
        if res == CRD_RESOURCE:
            for r in resources_of_crd(stored):
                for obj in list(self.objects[r.key].values()):
                    self._commit(r, "DELETED", obj, obj)
            self.catalogue.drop_crd(stored)
        return self._commit(res, "DELETED", stored, stored)

    # -- watches

    def watch(self, res, namespace, labels, fields, since):
        """A Watcher with the changes after `since` queued (None: the current
        objects as ADDED, as kube does for a watch without resourceVersion)."""
        watcher = Watcher(res, namespace, labels, fields, self.watch_queue_limit)
        if since is None:
            for obj in self.objects[res.key].values():
                if watcher.matches(obj):
                    watcher.push(("ADDED", obj), replay=True)
        elif since < self.compacted_rv:
            watcher.push(("ERROR", gone(f"too old resource version: {since} "
                                        f"({self.compacted_rv})").status()), replay=True)
            watcher.close_after_drain = True
            return watcher
        elif since > self.rv:
            raise too_large(since, self.rv)
        else:
            start = bisect.bisect_right([c.rv for c in self.history], since)
            for change in list(self.history)[start:]:
                if change.res_key == res.key:
                    watcher.offer(change, replay=True)
        self.watchers.add(watcher)
        return watcher

    def compact(self):
        self.history.clear()
        self.snapshots.clear()
        self.compacted_rv = self.rv
        return self.compacted_rv

    def close_watches(self, why):
        for watcher in list(self.watchers):
            watcher.close(why)
        return len(self.watchers)

    def set_stalled(self, stalled):
        self.stalled = stalled
        for watcher in self.watchers:
            watcher.wake.set()


def without_rv(obj):
    obj = dict(obj, metadata=dict(obj["metadata"]))
    obj["metadata"].pop("resourceVersion", None)
    obj["metadata"].pop("managedFields", None)
    return obj


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
