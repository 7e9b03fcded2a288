"""kube-apiserver's REST semantics over the Store: routing, discovery, CRUD, lists."""

import base64
import bisect
import collections
import copy
import dataclasses
import json
import random
import re
import string
import urllib.parse

from .catalogue import CRD_RESOURCE, NAMESPACES, Resource, SERVICES
from .errors import (ApiError, bad_request, conflict, gone, invalid, too_large,
                     unknown_path)
from .patches import apply_patch, server_side_apply
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import now_rfc3339


class Request:
    def __init__(self, scope, body):
        self.method = scope["method"]
        self.path = scope["path"]
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(
            scope["query_string"].decode(), keep_blank_values=True).items()}
        self.headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.body = body

    def json_body(self):
        try:
            obj = json.loads(self.body or b"null")
        except ValueError as err:
            raise bad_request(f"the body of the request could not be decoded: {err}")
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        return obj

    @property
    def content_type(self):
        return self.headers.get("content-type", "application/json").split(";")[0].strip()


@dataclasses.dataclass
class Target:
    res: Resource
    namespace: str = ""
    name: str = ""
    subresource: str = ""


class Api:
    """kube-apiserver's REST semantics over a Store."""

    def __init__(self, store, catalogue, options):
        self.store, self.catalogue, self.options = store, catalogue, options
        # Writes, by subresource ("" for the main resource), that will find
        # their object changed by another writer just before them.
        self.concurrent_writes = collections.Counter()
        # Server-side apply's field owners: (resource, uid, subresource) ->
        # {field manager: the field paths it applied last}.
        self.field_owners = collections.defaultdict(dict)

    def stored_for_write(self, target):
        """The object a PUT or PATCH applies to; if a concurrent write is
        due, another writer changes it first, so that a write carrying the
        old resourceVersion gets 409 Conflict, as it would in kube."""
        stored = self.store.get(target.res, target.namespace, target.name)
        if self.concurrent_writes[target.subresource] > 0:
            self.concurrent_writes[target.subresource] -= 1
            touched = copy.deepcopy(stored)
            annotations = touched["metadata"].setdefault("annotations", {})
            annotations["test.ferry.dev/concurrent-write"] = str(self.store.rv + 1)
            stored = self.store.update(target.res, stored, touched)
        return stored

    # -- routing

    def route(self, path):
        """(kind, value): ("discovery", body) or ("resource", Target)."""
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"]:
            group, rest = "", parts[1:]
            if not rest:
                return "discovery", {"kind": "APIVersions", "versions": ["v1"],
                                     "serverAddressByClientCIDRs": [
                                         {"clientCIDR": "0.0.0.0/0",
                                          "serverAddress": self.options.advertised}]}
        elif parts[:1] == ["apis"]:
            if len(parts) == 1:
                return "discovery", self.group_list()
            group, rest = parts[1], parts[2:]
            if not rest:
                return "discovery", self.group(group)
        else:
            raise unknown_path()
        version, rest = rest[0], rest[1:]
        if not rest:
            if version not in self.catalogue.group_versions().get(group, ()):
                raise unknown_path()
            return "discovery", self.resource_list(group, version)
        namespace = ""
        if (rest[0] == "namespaces" and len(rest) >= 3
                and self.catalogue.find(group, version, rest[2])):
            namespace, rest = rest[1], rest[2:]
        res = self.catalogue.find(group, version, rest[0])
        if res is None or len(rest) > 3 or (res.namespaced and not namespace and len(rest) > 1):
            raise unknown_path()
        target = Target(res, namespace, *rest[1:])
        if target.subresource and (target.subresource != "status" or not res.has_status):
            raise unknown_path()
        return "resource", target

    # -- discovery

    def group_versions_entry(self, group):
        versions = self.catalogue.group_versions()[group]
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def group_list(self):
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self.group_versions_entry(g)
                           for g in sorted(self.catalogue.group_versions()) if g]}

    def group(self, group):
        if group not in self.catalogue.group_versions():
            raise unknown_path()
        return dict(self.group_versions_entry(group), kind="APIGroup", apiVersion="v1")

    def resource_list(self, group, version):
        resources = []
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        for r in sorted(self.catalogue.in_group_version(group, version), key=lambda r: r.plural):
            entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                     "kind": r.kind, "verbs": verbs}
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            resources.append(entry)
            if r.has_status:
                resources.append({"name": f"{r.plural}/status", "singularName": "",
                                  "namespaced": r.namespaced, "kind": r.kind,
                                  "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": resources}

    # -- objects

    def check_identity(self, target, obj, name=None):
        """Fills in and checks kind, apiVersion, name and namespace of a body."""
        res = target.res
        if obj.get("kind", res.kind) != res.kind or \
                obj.get("apiVersion", res.api_version) != res.api_version:
            raise bad_request(f"the API version in the data ({obj.get('apiVersion')}) and kind "
                              f"({obj.get('kind')}) do not match the endpoint "
                              f"{res.api_version}, Kind={res.kind}")
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        for field in ("labels", "annotations"):
            value = meta.get(field)
            if value is not None and not (isinstance(value, dict) and all(
                    isinstance(v, str) for v in value.values())):
                raise invalid(res, str(meta.get("name", "")), f"metadata.{field}",
                              "a map of strings is required")
        if res.namespaced:
            if meta.get("namespace", target.namespace) != target.namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = target.namespace
        else:
            meta.pop("namespace", None)
        if name is not None and meta.get("name", name) != name:
            raise bad_request("the name of the object "
                              f"({meta.get('name')}) does not match the name on the URL ({name})")
        if name is not None:
            meta["name"] = name

    def create(self, target, request):
        obj = request.json_body()
        self.check_identity(target, obj)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choices(string.ascii_lowercase + string.digits, k=5))
        name = meta.get("name", "")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > 253:
            raise invalid(target.res, name, "metadata.name",
                          "a lowercase RFC 1123 subdomain is required")
        for field in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            meta.pop(field, None)
        if target.res.has_status:
            obj.pop("status", None)
        if target.res == CRD_RESOURCE:
            obj["status"] = crd_status(obj)
        if target.res == NAMESPACES:
            obj["status"] = {"phase": "Active"}
        if target.res == SERVICES:
            self.store.services.admit(obj)
            obj["status"] = {"loadBalancer": {}}
        return 201, self.store.create(target.res, obj)

    def write(self, target, stored, obj):
        """Stores `obj` as the new state of `stored` through the main
        resource or the status subresource, kube's rules for each."""
        res, name = target.res, stored["metadata"]["name"]
        sent_rv = obj.get("metadata", {}).get("resourceVersion")
        if sent_rv and sent_rv != stored["metadata"]["resourceVersion"]:
            raise conflict(res, name)
        self.check_identity(target, obj, name)
        if target.subresource == "status":
            new = copy.deepcopy(stored)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
        else:
            new = obj
            meta = new["metadata"]
            for field in ("uid", "creationTimestamp", "generation"):
                if field in stored["metadata"]:
                    meta[field] = stored["metadata"][field]
            meta.pop("managedFields", None)
            if res.has_status:
                new.pop("status", None)
                if "status" in stored:
                    new["status"] = stored["status"]
            if res == CRD_RESOURCE:
                new["status"] = crd_status(new)
            if res == SERVICES:
                self.store.services.admit(new, stored)
            if res.has_generation and spec_of(new) != spec_of(stored):
                meta["generation"] = stored["metadata"].get("generation", 0) + 1
        return self.store.update(res, stored, new)

    def replace(self, target, request):
        stored = self.stored_for_write(target)
        return 200, self.write(target, stored, request.json_body())

    def patch(self, target, request):
        res = target.res
        is_apply = request.content_type == "application/apply-patch+yaml"
        if is_apply and not request.query.get("fieldManager"):
            raise bad_request("PATCH /apply requires fieldManager")
        try:
            stored = self.stored_for_write(target)
        except ApiError:
            if not is_apply or target.subresource:
                raise
            stored = None
        if is_apply:
            manager = request.query["fieldManager"]
            owners = self.field_owners[(res.key, stored and stored["metadata"]["uid"],
                                        target.subresource)]
            others = set().union(*(paths for m, paths in owners.items() if m != manager))
            patched, owned = server_side_apply(stored, request.body,
                                               owners.get(manager, set()), others)
        else:
            patched = apply_patch(res, request.content_type, copy.deepcopy(stored),
                                  request.body, target.name)
        if not isinstance(patched, dict):
            raise bad_request("the patch did not produce an object")
        if stored is None:
            self.check_identity(target, patched, target.name)
            created = self.create(target, _JsonBody(patched))[1]
            self.field_owners[(res.key, created["metadata"]["uid"], "")] = {manager: owned}
            return 201, created
        # A resourceVersion the patch sets is a precondition; one it keeps
        # from the stored object is not.
        written = self.write(target, stored, patched)
        if is_apply:
            owners[manager] = owned
        return 200, written

    def delete(self, target, request):
        stored = self.store.get(target.res, target.namespace, target.name)
        options = request.json_body() if request.body.strip() else {}
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != stored["metadata"]["uid"]:
            raise conflict(target.res, target.name, "Precondition failed: UID in precondition: "
                           f"{pre['uid']}, UID in object meta: {stored['metadata']['uid']}")
        if pre.get("resourceVersion") and \
                pre["resourceVersion"] != stored["metadata"]["resourceVersion"]:
            raise conflict(target.res, target.name)
        return 200, self.store.delete(target.res, stored)

    # -- lists

    def selectors(self, target, request):
        return (parse_label_selector(request.query.get("labelSelector", "")),
                parse_field_selector(request.query.get("fieldSelector", ""), target.res))

    def list(self, target, request):
        res, query = target.res, request.query
        labels, fields = self.selectors(target, request)
        limit = query_int(query, "limit", 0)
        if query.get("continue"):
            rv, start = decode_continue(query["continue"])
            try:
                items = self.store.snapshot(res, rv)
            except ApiError as err:
                if err.code == 410:
                    raise gone("The provided continue parameter is too old to display a "
                               "consistent list result. You can start a new list without the "
                               "continue parameter.")
                raise
        else:
            rv, start = self.list_rv(query), None
            items = self.store.snapshot(res, rv)
        begin = bisect.bisect_left(items, (start,)) if start else 0
        page, next_key, scanned = [], None, begin
        for key, obj in items[begin:]:
            if limit and len(page) == limit:
                next_key = key
                break
            scanned += 1
            if (not target.namespace or key[0] == target.namespace) and \
                    labels_match(labels, obj) and fields_match(fields, obj):
                page.append(obj)
        meta = {"resourceVersion": str(rv)}
        if next_key:
            meta["continue"] = encode_continue(rv, next_key)
            if not labels and not fields and not target.namespace:
                meta["remainingItemCount"] = len(items) - scanned
        return 200, {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                     "metadata": meta, "items": page}

    def list_rv(self, query):
        """The resourceVersion a list reads at (kube's resourceVersion and
        resourceVersionMatch rules; NotOlderThan is served at the newest)."""
        value, match = query.get("resourceVersion", ""), query.get("resourceVersionMatch", "")
        if value in ("", "0"):
            if match == "Exact":
                raise bad_request("resourceVersionMatch: Exact requires a resourceVersion")
            return self.store.rv
        try:
            rv = int(value)
        except ValueError:
            raise bad_request(f"invalid resource version {value!r}")
        exact = match == "Exact" or (not match and query.get("limit"))
        if match not in ("", "Exact", "NotOlderThan"):
            raise bad_request(f"unsupported resourceVersionMatch {match!r}")
        if rv > self.store.rv:
            raise too_large(rv, self.store.rv)
        return rv if exact else self.store.rv

    # -- watch

    def open_watch(self, target, request):
        labels, fields = self.selectors(target, request)
        value = request.query.get("resourceVersion", "")
        since = None
        if value not in ("", "0"):
            try:
                since = int(value)
            except ValueError:
                raise bad_request(f"invalid resource version {value!r}")
        if not query_flag(request.query, "sendInitialEvents"):
            return self.store.watch(target.res, target.namespace, labels, fields, since)
        # A streaming list (kube's WatchList): the current objects, a
        # bookmark marking their end, then the changes.
        if request.query.get("resourceVersionMatch") != "NotOlderThan" or \
                not query_flag(request.query, "allowWatchBookmarks"):
            raise invalid(target.res, "", "sendInitialEvents",
                          "sendInitialEvents requires resourceVersionMatch=NotOlderThan "
                          "and allowWatchBookmarks=true")
        if since is not None and since > self.store.rv:
            raise too_large(since, self.store.rv)
        watcher = self.store.watch(target.res, target.namespace, labels, fields, None)
        watcher.push(("BOOKMARK", {
            "kind": target.res.kind, "apiVersion": target.res.api_version,
            "metadata": {"resourceVersion": str(self.store.rv),
                         "annotations": {"k8s.io/initial-events-end": "true"}}}), replay=True)
        return watcher


class _JsonBody:
    """A create request made by server-side apply of a missing object."""

    def __init__(self, obj):
        self.obj = obj

    def json_body(self):
        return self.obj


def query_int(query, name, default):
    """A non-negative integer query parameter; 400 names it when it is not one."""
    text = query.get(name) or str(default)
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise bad_request(f"{name}: {text!r} is not a non-negative integer")
    return value


def query_flag(query, name):
    """A boolean query parameter, as Go's strconv.ParseBool reads it."""
    return query.get(name, "").lower() in ("1", "t", "true")


def spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind",
                                                      "apiVersion")}


def crd_status(crd):
    when = now_rfc3339()
    names = (crd.get("spec") or {}).get("names") or {}
    storage = [v["name"] for v in (crd.get("spec") or {}).get("versions") or ()
               if v.get("storage")]
    return {"acceptedNames": names, "storedVersions": storage,
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": when,
                            "reason": r, "message": m}
                           for t, r, m in (("NamesAccepted", "NoConflicts",
                                            "no conflicts found for the names"),
                                           ("Established", "InitialNamesAccepted",
                                            "the initial names have been accepted"))]}


def encode_continue(rv, key):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(key)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_continue(token):
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(raw["rv"]), tuple(raw["start"])
    except (ValueError, KeyError, TypeError):
        raise bad_request("continue key is not valid: incorrect encoded start "
                          "resourceVersion (version meta.k8s.io/v1)")
