#!/usr/bin/python3
"""Ferry's test API server: a stand-in for kube-apiserver, which no package
installs on the machines Ferry is tested on.

It serves the resources Ferry reads and writes with kube-apiserver's JSON
shapes and semantics (resourceVersions from one counter, 409 on stale
preconditions, status subresources, list pagination over a consistent
snapshot, watches with bookmarks and a bounded history that answers 410 Gone)
over TLS with HTTP/2 and HTTP/1.1, behind a bearer token or a client
certificate. A plain-HTTP admin endpoint on loopback injects faults.
README.md says what it leaves out; the tests in this folder drive it with
kubectl and python3-kubernetes only.

Layout: resource catalogue, selectors, patches, storage and watch hub,
connection registry, the API handlers and ASGI app, the admin app,
certificates and kubeconfig, listeners, main.
"""

import argparse
import asyncio
import base64
import bisect
import collections
import copy
import dataclasses
import datetime
import hmac
import ipaddress
import json
import os
import random
import re
import secrets
import signal
import socket
import ssl
import string
import traceback
import urllib.parse
import uuid

import jsonpatch
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.events import Closed
from hypercorn.utils import parse_socket_addr

SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-ferry-test",
                  "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
                  "goVersion": "", "compiler": "python", "platform": "linux/amd64"}
MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's request size limit
OPENAPI_V2_PROTOBUF = b"application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
NAMESPACES_AT_START = ("default", "kube-system", "kube-public", "kube-node-lease")


# ---------------------------------------------------------------- errors

class ApiError(Exception):
    """A failed request, answered as a meta/v1 Status as kube-apiserver does."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _details(res, name):
    details = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return details


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                    _details(res, name))


def conflict(res, name, why="the object has been modified; please apply your changes "
             "to the latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} '
                    f'"{name}": {why}', _details(res, name))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(res, name, field, why):
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {field}: {why}',
                    dict(_details(res, name), causes=[{"reason": "FieldValueInvalid",
                                                       "message": why, "field": field}]))


def gone(message):
    return ApiError(410, "Expired", message)


def too_large(rv, current):
    return ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {current}",
                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                 "message": "Too large resource version"}],
                     "retryAfterSeconds": 1})


# ---------------------------------------------------------------- catalogue

@dataclasses.dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple = ()
    has_status: bool = False
    # kube sets metadata.generation on custom resources (and workloads), not
    # on Services, Nodes or Leases.
    has_generation: bool = False
    custom: bool = False

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self):
        return (self.group, self.version, self.plural)

    @property
    def singular(self):
        return self.kind.lower()


CRD_RESOURCE = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                        "CustomResourceDefinition", False, ("crd", "crds"), True, True)
BUILTIN_RESOURCES = (
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",), True),
    Resource("", "v1", "services", "Service", True, ("svc",), True),
    Resource("", "v1", "nodes", "Node", False, ("no",), True),
    Resource("", "v1", "secrets", "Secret", True),
    Resource("", "v1", "events", "Event", True, ("ev",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True),
    Resource("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
    CRD_RESOURCE,
)
NAMESPACES, SERVICES = BUILTIN_RESOURCES[:2]


def resources_of_crd(crd):
    """The served versions of a CustomResourceDefinition, as Resources."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    if not spec.get("group") or not names.get("plural") or not names.get("kind"):
        raise invalid(CRD_RESOURCE, crd["metadata"].get("name", ""), "spec",
                      "group, names.plural and names.kind are required")
    return [Resource(spec["group"], v["name"], names["plural"], names["kind"],
                     spec.get("scope") == "Namespaced", tuple(names.get("shortNames") or ()),
                     "status" in (v.get("subresources") or {}), True, True)
            for v in spec.get("versions") or () if v.get("served", True)]


class Catalogue:
    """The resources served, by (group, version, plural); CRDs add theirs."""

    def __init__(self):
        self.by_key = {r.key: r for r in BUILTIN_RESOURCES}

    def find(self, group, version, plural):
        return self.by_key.get((group, version, plural))

    def group_versions(self):
        seen = {}
        for r in self.by_key.values():
            seen.setdefault(r.group, [])
            if r.version not in seen[r.group]:
                seen[r.group].append(r.version)
        return seen

    def in_group_version(self, group, version):
        return [r for r in self.by_key.values() if r.group == group and r.version == version]

    def set_crd(self, crd, previous=None):
        for r in resources_of_crd(previous) if previous else ():
            self.by_key.pop(r.key, None)
        for r in resources_of_crd(crd):
            self.by_key[r.key] = r

    def drop_crd(self, crd):
        for r in resources_of_crd(crd):
            self.by_key.pop(r.key, None)


# ---------------------------------------------------------------- selectors

_LABEL_TERM = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>[\w./-]+)"
    r"|(?P<key>[\w./-]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[\w.-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?)\s*(?:,|$)")


def parse_label_selector(text):
    """kube's label selector grammar: k=v, k==v, k!=v, k in (a,b), k notin (a), k, !k."""
    terms, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _LABEL_TERM.match(text, pos)
        if not m or m.end() == pos:
            raise bad_request(f"unable to parse requirement: invalid label selector: {text!r}")
        pos = m.end()
        if m["not"]:
            terms.append((m["nkey"], "!", ()))
        elif m["setop"]:
            values = tuple(v.strip() for v in m["values"].split(",") if v.strip())
            terms.append((m["key"], m["setop"], values))
        elif m["op"]:
            terms.append((m["key"], "!=" if m["op"] == "!=" else "=", (m["value"],)))
        else:
            terms.append((m["key"], "exists", ()))
    return terms


def labels_match(terms, obj):
    labels = obj.get("metadata", {}).get("labels") or {}
    for key, op, values in terms:
        present = key in labels
        if op in ("=", "in"):
            ok = present and labels[key] in values
        elif op in ("!=", "notin"):
            ok = not present or labels[key] not in values
        else:
            ok = present == (op == "exists")
        if not ok:
            return False
    return True


FIELD_LABELS = {"metadata.name": ("metadata", "name"),
                "metadata.namespace": ("metadata", "namespace")}
EXTRA_FIELD_LABELS = {"secrets": {"type": ("type",)},
                      "events": {"involvedObject.name": ("involvedObject", "name"),
                                 "involvedObject.kind": ("involvedObject", "kind"),
                                 "involvedObject.namespace": ("involvedObject", "namespace"),
                                 "reason": ("reason",), "type": ("type",)}}


def parse_field_selector(text, res):
    known = dict(FIELD_LABELS, **EXTRA_FIELD_LABELS.get(res.plural, {}))
    terms = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([\w.]+)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid field selector: {part!r}")
        if m[1] not in known:
            raise bad_request(f'field label not supported: {m[1]}')
        terms.append((known[m[1]], m[2] == "!=", m[3]))
    return terms


def fields_match(terms, obj):
    for path, negate, want in terms:
        value = obj
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if ((value if value is not None else "") == want) == negate:
            return False
    return True


# ---------------------------------------------------------------- patches

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Merge keys of the lists Ferry and kubectl patch, from the Go types' patch
# tags (ServicePort: port; conditions: type; ...). Lists not named here are
# replaced whole, as a merge patch does.
MERGE_KEYS = {"ports": "port", "conditions": "type", "containers": "name",
              "initContainers": "name", "volumes": "name", "env": "name",
              "ownerReferences": "uid", "taints": "key", "addresses": "type"}
MERGED_PRIMITIVE_LISTS = {"finalizers"}


def strategic_merge(target, patch, field=None):
    """Strategic merge patch for the directives kubectl sends ($patch,
    $retainKeys, $setElementOrder, $deleteFromPrimitiveList) over MERGE_KEYS."""
    if isinstance(patch, list):
        return _strategic_merge_list(target if isinstance(target, list) else [], patch, field)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or () if v not in value]
        elif value is None:
            result.pop(key, None)
        else:
            merged = strategic_merge(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if "$retainKeys" in patch:
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _strategic_merge_list(target, patch, field):
    if field in MERGED_PRIMITIVE_LISTS:
        return target + [v for v in patch if v not in target]
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(item, dict) for item in patch + target):
        return [strategic_merge(None, item) for item in patch]
    result = list(target)
    for item in patch:
        index = next((i for i, old in enumerate(result) if old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge(None, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def apply_patch(res, content_type, stored, body, name):
    """The object PATCH makes of `stored`; None stored only for apply."""
    try:
        if content_type == "application/apply-patch+yaml":
            patch = yaml.safe_load(body)
        else:
            patch = json.loads(body)
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"error decoding patch: {err}")
    if content_type == "application/json-patch+json":
        if not isinstance(patch, list):
            raise bad_request("json patch must be a list of operations")
        try:
            return jsonpatch.apply_patch(stored, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
            raise invalid(res, name, "patch", str(err))
    if not isinstance(patch, dict):
        raise bad_request("patch must be a JSON object")
    if content_type == "application/merge-patch+json":
        return merge_patch(stored, patch)
    if content_type == "application/strategic-merge-patch+json":
        if res.custom:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                           "unknown format - accepted media types include: "
                           "application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml")
        return strategic_merge(stored, patch)
    if content_type == "application/apply-patch+yaml":
        # Field ownership is not tracked: the applied fields are merged in,
        # with lists keyed as MERGE_KEYS says, and none are taken away.
        return strategic_merge(stored or {}, patch)
    raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type!r}")


# ---------------------------------------------------------------- Service admission

class ServiceAdmission:
    """What kube-apiserver's Service registry fills in and checks: defaults,
    IP families, cluster IPs from the service CIDRs and node ports, kept
    across updates that omit them (kube's patchAllocatedValues)."""

    def __init__(self, cidrs, node_ports):
        self.networks = {}
        for text in cidrs.split(","):
            network = ipaddress.ip_network(text.strip())
            self.networks[f"IPv{network.version}"] = network
        self.primary = f"IPv{ipaddress.ip_network(cidrs.split(',')[0].strip()).version}"
        self.node_ports = node_ports
        self.ips, self.ports = set(), set()
        self.next_ip = {family: 1 for family in self.networks}
        self.next_port = node_ports[0]

    @staticmethod
    def held(svc):
        spec = (svc or {}).get("spec") or {}
        return ({ip for ip in spec.get("clusterIPs") or () if ip != "None"},
                {p["nodePort"] for p in spec.get("ports") or () if p.get("nodePort")})

    def track(self, change):
        """Keeps the allocated addresses and ports in step with the store."""
        ips, ports = self.held(change.prev)
        self.ips -= ips
        self.ports -= ports
        if change.type != "DELETED":
            ips, ports = self.held(change.obj)
            self.ips |= ips
            self.ports |= ports

    def admit(self, svc, old=None):
        name = svc["metadata"]["name"]
        spec = svc.get("spec")
        if not isinstance(spec, dict):
            raise invalid(SERVICES, name, "spec", "Required value")
        old_spec = (old or {}).get("spec") or {}
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if field not in spec and field in old_spec:
                spec[field] = old_spec[field]
        if old_spec.get("clusterIP") and spec.get("clusterIP") != old_spec["clusterIP"]:
            raise invalid(SERVICES, name, "spec.clusterIP", "field is immutable")
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p
                     for p in old_spec.get("ports") or ()}
        for port in spec.get("ports") or ():
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            kept = old_ports.get((port.get("port"), port["protocol"]), {}).get("nodePort")
            if kept and not port.get("nodePort"):
                port["nodePort"] = kept
        if spec["type"] == "ExternalName":
            return
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        self.admit_ips(name, spec, old_spec)
        if spec["type"] == "NodePort" or (spec["type"] == "LoadBalancer"
                                          and spec["allocateLoadBalancerNodePorts"]):
            self.admit_node_ports(name, spec, old_spec)

    def admit_ips(self, name, spec, old_spec):
        ips = list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP")
                                               else []))
        if ips == ["None"]:
            spec.update(clusterIP="None", clusterIPs=["None"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("ipFamilies", [self.primary])
            return
        policy = spec.setdefault("ipFamilyPolicy", "SingleStack")
        families = list(spec.get("ipFamilies") or
                        [f"IPv{ipaddress.ip_address(ip).version}" for ip in ips] or
                        [self.primary])
        if policy != "SingleStack" and len(families) == 1:
            families += [f for f in self.networks if f != families[0]]
        if policy not in ("SingleStack", "PreferDualStack", "RequireDualStack"):
            raise invalid(SERVICES, name, "spec.ipFamilyPolicy", f"Unsupported value: {policy!r}")
        if len(set(families)) != len(families) or any(f not in self.networks for f in families) \
                or (policy == "SingleStack" and len(families) > 1) \
                or (policy == "RequireDualStack" and len(families) < 2):
            raise invalid(SERVICES, name, "spec.ipFamilies",
                          f"{families} is not allowed with ipFamilyPolicy {policy} on this "
                          f"cluster (service CIDRs {sorted(map(str, self.networks.values()))})")
        held = set(old_spec.get("clusterIPs") or ())
        for i, family in enumerate(families):
            if i < len(ips):
                ip = ipaddress.ip_address(ips[i])
                if f"IPv{ip.version}" != family or ip not in self.networks[family]:
                    raise invalid(SERVICES, name, f"spec.clusterIPs[{i}]",
                                  f"{ips[i]} is not in the {family} service CIDR "
                                  f"{self.networks[family]}")
                if ips[i] in self.ips and ips[i] not in held:
                    raise invalid(SERVICES, name, f"spec.clusterIPs[{i}]",
                                  f"{ips[i]}: provided IP is already allocated")
            else:
                ips.append(self.allocate_ip(name, family))
        spec.update(clusterIP=ips[0], clusterIPs=ips, ipFamilies=families)

    def allocate_ip(self, name, family):
        network = self.networks[family]
        size = min(network.num_addresses - 2, 1 << 20)
        for step in range(size):
            offset = (self.next_ip[family] - 1 + step) % size + 1
            ip = str(network.network_address + offset)
            if ip not in self.ips:
                self.next_ip[family] = offset + 1
                self.ips.add(ip)
                return ip
        raise invalid(SERVICES, name, "spec.clusterIPs", f"no {family} address free in "
                      f"{network}")

    def admit_node_ports(self, name, spec, old_spec):
        held = self.held({"spec": old_spec})[1]
        low, high = self.node_ports
        for i, port in enumerate(spec.get("ports") or ()):
            wanted = port.get("nodePort")
            if wanted:
                if not low <= wanted <= high:
                    raise invalid(SERVICES, name, f"spec.ports[{i}].nodePort",
                                  f"{wanted}: provided port is not in the valid range. The "
                                  f"range of valid ports is {low}-{high}")
                if wanted in self.ports and wanted not in held:
                    raise invalid(SERVICES, name, f"spec.ports[{i}].nodePort",
                                  f"{wanted}: provided port is already allocated")
                continue
            for step in range(high - low + 1):
                candidate = low + (self.next_port - low + step) % (high - low + 1)
                if candidate not in self.ports:
                    port["nodePort"] = candidate
                    self.ports.add(candidate)
                    self.next_port = candidate + 1
                    break
            else:
                raise invalid(SERVICES, name, f"spec.ports[{i}].nodePort", "no port free")


# ---------------------------------------------------------------- storage and watch hub

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
        cache_key = (res.key, rv)
        if cache_key in self.snapshots:
            self.snapshots.move_to_end(cache_key)
            return self.snapshots[cache_key]
        if rv < self.compacted_rv:
            raise gone(f"too old resource version: {rv} ({self.compacted_rv})")
        if rv > self.rv:
            raise too_large(rv, self.rv)
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


# ---------------------------------------------------------------- connections

@dataclasses.dataclass
class Connection:
    peer: tuple
    protocol: str            # "h2" or "http/1.1"
    transport: object
    cert_user: str = None    # the verified client certificate's CN
    open_streams: int = 0
    open_watches: int = 0
    max_open_streams: int = 0
    max_open_watches: int = 0
    requests: int = 0


class Registry:
    """Open TCP connections of one listener, by the peer address ASGI
    scopes carry, so requests can be counted per connection and protocol."""

    def __init__(self):
        self.connections = {}
        self.accepted = 0

    def opened(self, writer):
        sock = writer.get_extra_info("socket")
        ssl_object = writer.get_extra_info("ssl_object")
        protocol = (ssl_object.selected_alpn_protocol() if ssl_object else None) or "http/1.1"
        cert = ssl_object.getpeercert() if ssl_object else None
        cert_user = None
        if cert:
            cert_user = next((v for rdn in cert.get("subject", ()) for k, v in rdn
                              if k == "commonName"), "")
        conn = Connection(parse_socket_addr(sock.family, sock.getpeername()), protocol,
                          writer.transport, cert_user)
        self.connections[conn.peer] = conn
        self.accepted += 1
        return conn

    def closed(self, conn):
        self.connections.pop(conn.peer, None)

    def drop_all(self):
        for conn in list(self.connections.values()):
            conn.transport.abort()

    def stats(self):
        rows = [{"peer": f"{c.peer[0]}:{c.peer[1]}", "protocol": c.protocol,
                 "openStreams": c.open_streams, "openWatches": c.open_watches,
                 "maxOpenStreams": c.max_open_streams, "maxOpenWatches": c.max_open_watches,
                 "requests": c.requests, "user": c.cert_user}
                for c in self.connections.values()]
        by_protocol = {}
        for row in rows:
            p = by_protocol.setdefault(row["protocol"], {"connections": 0, "openStreams": 0,
                                                         "openWatches": 0})
            p["connections"] += 1
            p["openStreams"] += row["openStreams"]
            p["openWatches"] += row["openWatches"]
        return {"openConnections": len(rows), "acceptedConnections": self.accepted,
                "byProtocol": by_protocol, "connections": rows}


# ---------------------------------------------------------------- API handlers

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
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        version, rest = rest[0], rest[1:]
        if not rest:
            if version not in self.catalogue.group_versions().get(group, ()):
                raise ApiError(404, "NotFound", "the server could not find the requested "
                               "resource")
            return "discovery", self.resource_list(group, version)
        namespace = ""
        if (rest[0] == "namespaces" and len(rest) >= 3
                and self.catalogue.find(group, version, rest[2])):
            namespace, rest = rest[1], rest[2:]
        res = self.catalogue.find(group, version, rest[0])
        if res is None or len(rest) > 3 or (res.namespaced and not namespace and len(rest) > 1):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        target = Target(res, namespace, *rest[1:])
        if target.subresource and (target.subresource != "status" or not res.has_status):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
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
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
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
        stored = self.store.get(target.res, target.namespace, target.name)
        return 200, self.write(target, stored, request.json_body())

    def patch(self, target, request):
        res = target.res
        is_apply = request.content_type == "application/apply-patch+yaml"
        if is_apply and not request.query.get("fieldManager"):
            raise bad_request("PATCH /apply requires fieldManager")
        try:
            stored = self.store.get(res, target.namespace, target.name)
        except ApiError:
            if not is_apply or target.subresource:
                raise
            stored = None
        patched = apply_patch(res, request.content_type, copy.deepcopy(stored), request.body,
                              target.name)
        if not isinstance(patched, dict):
            raise bad_request("the patch did not produce an object")
        if stored is None:
            self.check_identity(target, patched, target.name)
            return 201, self.create(target, _JsonBody(patched))[1]
        # A resourceVersion the patch sets is a precondition; one it keeps
        # from the stored object is not.
        return 200, self.write(target, stored, patched)

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
        limit = int(query.get("limit") or 0)
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
        return self.store.watch(target.res, target.namespace, labels, fields, since)


class _JsonBody:
    """A create request made by server-side apply of a missing object."""

    def __init__(self, obj):
        self.obj = obj

    def json_body(self):
        return self.obj


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


# ---------------------------------------------------------------- tables (kubectl get)

def human_age(timestamp, now=None):
    """kube's duration.HumanDuration of the time since `timestamp`."""
    try:
        then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = int(((now or datetime.datetime.now(datetime.timezone.utc)) - then)
                  .total_seconds())
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


_JSONPATH_STEP = re.compile(r'\.([\w-]+)|\[(\d+|\*)\]|\[\?\(@\.([\w.-]+)\s*==\s*"([^"]*)"\)\]')


def jsonpath_values(obj, path):
    """The values a printer column's JSONPath selects: .field, [n], [*] and
    [?(@.field=="value")], the forms CRDs' additionalPrinterColumns use."""
    values, pos = [obj], 0
    path = path.strip().lstrip("{").rstrip("}").lstrip("$")
    while pos < len(path):
        m = _JSONPATH_STEP.match(path, pos)
        if not m:
            return []
        pos = m.end()
        found = []
        for v in values:
            if m[1] is not None and isinstance(v, dict) and m[1] in v:
                found.append(v[m[1]])
            elif m[2] == "*" and isinstance(v, list):
                found += v
            elif m[2] is not None and m[2] != "*" and isinstance(v, list) and int(m[2]) < len(v):
                found.append(v[int(m[2])])
            elif m[3] is not None and isinstance(v, list):
                found += [item for item in v if isinstance(item, dict) and
                          str(jsonpath_values(item, "." + m[3])[:1] and
                              jsonpath_values(item, "." + m[3])[0]) == m[4]]
        values = found
    return values


def _cell(obj, path):
    values = jsonpath_values(obj, path)
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return ",".join(json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in values)


def _service_external_ip(svc):
    spec, ingress = svc.get("spec") or {}, ((svc.get("status") or {}).get("loadBalancer")
                                            or {}).get("ingress") or []
    addresses = [i.get("ip") or i.get("hostname") for i in ingress] + \
        list(spec.get("externalIPs") or ())
    if addresses:
        return ",".join(a for a in addresses if a)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


def _service_ports(svc):
    ports = (svc.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}"
                    f"/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _node_status(node):
    ready = [c for c in (node.get("status") or {}).get("conditions") or ()
             if c.get("type") == "Ready"]
    return {"True": "Ready", "False": "NotReady"}.get(ready[0].get("status"), "Unknown") \
        if ready else "Unknown"


def _node_roles(node):
    roles = [k.split("/", 1)[1] for k in (node["metadata"].get("labels") or {})
             if k.startswith("node-role.kubernetes.io/")]
    return ",".join(sorted(roles)) or "<none>"


def _selector(svc):
    selector = (svc.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"


def _age(obj):
    return human_age(obj["metadata"].get("creationTimestamp"))


AGE = ("Age", 0, _age)
# (name, priority, cell of an object): kube's printers for the built-in types.
BUILTIN_COLUMNS = {
    "services": [("Type", 0, lambda o: o["spec"].get("type")),
                 ("Cluster-IP", 0, lambda o: o["spec"].get("clusterIP") or "<none>"),
                 ("External-IP", 0, _service_external_ip),
                 ("Port(s)", 0, _service_ports), AGE,
                 ("Selector", 1, _selector)],
    "namespaces": [("Status", 0, lambda o: (o.get("status") or {}).get("phase", "")), AGE],
    "nodes": [("Status", 0, _node_status), ("Roles", 0, _node_roles), AGE,
              ("Version", 0, lambda o: _cell(o, ".status.nodeInfo.kubeletVersion") or "")],
    "leases": [("Holder", 0, lambda o: _cell(o, ".spec.holderIdentity") or ""), AGE],
    "endpointslices": [("AddressType", 0, lambda o: o.get("addressType", "")),
                       ("Ports", 0, lambda o: ",".join(str(p.get("port"))
                                                       for p in o.get("ports") or ()) or "<unset>"),
                       ("Endpoints", 0, lambda o: ",".join(a for e in o.get("endpoints") or ()
                                                           for a in e.get("addresses") or ())
                        or "<unset>"), AGE],
    "secrets": [("Type", 0, lambda o: o.get("type", "")),
                ("Data", 0, lambda o: len(o.get("data") or {})), AGE],
}


def table_columns(store, res):
    """The columns kubectl shows for `res`: Name, the type's own, Age."""
    if res.custom:
        crd = store.objects[CRD_RESOURCE.key].get(("", f"{res.plural}.{res.group}"), {})
        version = next((v for v in (crd.get("spec") or {}).get("versions") or ()
                        if v.get("name") == res.version), {})
        own = [(c["name"], c.get("priority", 0), c["jsonPath"], c.get("type", "string"))
               for c in version.get("additionalPrinterColumns") or ()]
        columns = [(name, priority, (lambda path, kind: lambda o: (
            human_age(_cell(o, path)) if kind == "date" else _cell(o, path)))(path, kind))
            for name, priority, path, kind in own]
        if not any(name == "Age" for name, _, _, _ in own):
            columns.append(AGE)
    else:
        columns = BUILTIN_COLUMNS.get(res.plural, [AGE])
    return [("Name", 0, lambda o: o["metadata"]["name"])] + columns


def wants_table(request):
    return any("as=Table" in part and "g=meta.k8s.io" in part
               for part in request.headers.get("accept", "").split(","))


def as_table(store, res, objects, rv, include="Metadata", headers=True):
    columns = table_columns(store, res)
    rows = []
    for obj in objects:
        row = {"cells": [cell(obj) for _, _, cell in columns]}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
             "metadata": {"resourceVersion": str(rv)}, "rows": rows}
    if headers:
        table["columnDefinitions"] = [
            {"name": name, "type": "string", "format": "name" if name == "Name" else "",
             "description": "", "priority": priority} for name, priority, _ in columns]
    return table


# ---------------------------------------------------------------- ASGI app

async def read_body(receive):
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLarge", "the request is too large")
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_json(send, code, body):
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"cache-control", b"no-cache, private")]})
    await send({"type": "http.response.body", "body": payload})


class ApiApp:
    """The ASGI application of the API listener: authentication, per
    connection accounting, then the Api's handlers and watch streams."""

    def __init__(self, api, registry, options):
        self.api, self.registry, self.options = api, registry, options
        self.tokens = {options.token}
        self.response_delay = 0.0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        conn = self.registry.connections.get(tuple(scope["client"] or ()))
        if conn:
            conn.requests += 1
            conn.open_streams += 1
            conn.max_open_streams = max(conn.max_open_streams, conn.open_streams)
        try:
            await self.serve(scope, receive, send, conn)
        finally:
            if conn:
                conn.open_streams -= 1

    def authenticated(self, request, conn):
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
            return any(hmac.compare_digest(token, t) for t in self.tokens)
        return bool(conn and conn.cert_user)

    async def serve(self, scope, receive, send, conn):
        try:
            body = await read_body(receive)
            if body is None:
                return
            request = Request(scope, body)
            request.path = request.path.rstrip("/") or "/"
            if not self.authenticated(request, conn):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if self.response_delay and not query_flag(request.query, "watch"):
                await asyncio.sleep(self.response_delay)
            if request.path in ("/healthz", "/livez", "/readyz"):
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"ok"})
                return
            if request.path == "/version":
                await send_json(send, 200, SERVER_VERSION)
                return
            if request.path == "/openapi/v2":
                # kubectl downloads this (protobuf only) before it creates
                # anything; an empty Document holds no schema, so it
                # validates nothing client side. No /openapi/v3: kubectl
                # then takes patch strategies from its compiled-in types.
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", OPENAPI_V2_PROTOBUF)]})
                await send({"type": "http.response.body", "body": b""})
                return
            kind, value = self.api.route(request.path)
            if kind == "discovery":
                if request.method != "GET":
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this "
                                   "method on the requested resource")
                await send_json(send, 200, value)
                return
            await self.resource(value, request, receive, send, conn)
        except ApiError as err:
            await send_json(send, err.code, err.status())
        except Exception as err:  # a bug here: say so, as kube does, and log it
            traceback.print_exc()
            await send_json(send, 500, ApiError(500, "InternalError",
                                                f"an error on the server: {err!r}").status())

    async def resource(self, target, request, receive, send, conn):
        api, method = self.api, request.method
        collection = not target.name
        if method == "GET" and query_flag(request.query, "watch"):
            if not collection:
                raise bad_request("watch of a single object: use a fieldSelector "
                                  "on metadata.name")
            watcher = api.open_watch(target, request)
            await self.stream_watch(watcher, request, receive, send, conn)
            return
        if method == "GET":
            code, body = api.list(target, request) if collection else \
                (200, api.store.get(target.res, target.namespace, target.name))
            if wants_table(request) and not target.subresource:
                items = body["items"] if collection else [body]
                rv = body["metadata"]["resourceVersion"]
                table = as_table(api.store, target.res, items, rv,
                                 request.query.get("includeObject", "Metadata"))
                if collection and body["metadata"].get("continue"):
                    table["metadata"]["continue"] = body["metadata"]["continue"]
                body = table
        elif method == "POST" and collection and not target.subresource:
            code, body = api.create(target, request)
        elif method == "PUT" and not collection:
            code, body = api.replace(target, request)
        elif method == "PATCH" and not collection:
            code, body = api.patch(target, request)
        elif method == "DELETE" and not collection and not target.subresource:
            code, body = api.delete(target, request)
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method "
                           "on the requested resource")
        await send_json(send, code, body)

    async def stream_watch(self, watcher, request, receive, send, conn):
        store, loop = self.api.store, asyncio.get_running_loop()
        res = watcher.res
        timeout = float(request.query.get("timeoutSeconds") or self.options.watch_timeout)
        deadline = loop.time() + timeout
        bookmarks = query_flag(request.query, "allowWatchBookmarks")
        table = wants_table(request)
        include = request.query.get("includeObject", "Metadata")
        interval = self.options.bookmark_interval
        next_bookmark = loop.time() + interval

        async def wait_disconnect():
            while (await receive())["type"] != "http.disconnect":
                pass
            watcher.close("client went away")

        listener = asyncio.ensure_future(wait_disconnect())
        if conn:
            conn.open_watches += 1
            conn.max_open_watches = max(conn.max_open_watches, conn.open_watches)
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"cache-control", b"no-cache, private")]})
            # hypercorn holds the headers until the first body bytes; a
            # client must see the watch start (kube flushes at once).
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            while True:
                now = loop.time()
                if watcher.closed or (not store.stalled and now >= deadline):
                    break
                if not store.stalled and watcher.events:
                    batch = []
                    while watcher.events and len(batch) < 256:
                        kind, obj = watcher.events.popleft()
                        if table and kind in ("ADDED", "MODIFIED", "DELETED"):
                            obj = as_table(store, res, [obj], obj["metadata"]["resourceVersion"],
                                           include)
                        batch.append(json.dumps({"type": kind, "object": obj},
                                                separators=(",", ":")))
                    await send({"type": "http.response.body", "more_body": True,
                                "body": ("\n".join(batch) + "\n").encode()})
                    if watcher.close_after_drain and not watcher.events:
                        break
                    continue
                if not store.stalled and bookmarks and now >= next_bookmark:
                    bookmark = {"kind": res.kind, "apiVersion": res.api_version,
                                "metadata": {"resourceVersion": str(store.rv)}}
                    await send({"type": "http.response.body", "more_body": True,
                                "body": json.dumps({"type": "BOOKMARK", "object": bookmark},
                                                   separators=(",", ":")).encode() + b"\n"})
                    next_bookmark = now + interval
                    continue
                wake_at = None if store.stalled else \
                    min(deadline, next_bookmark) if bookmarks else deadline
                watcher.wake.clear()
                try:
                    await asyncio.wait_for(watcher.wake.wait(),
                                           None if wake_at is None else max(0, wake_at - now))
                except asyncio.TimeoutError:
                    pass
            if watcher.closed != "client went away":
                await send({"type": "http.response.body", "body": b""})
        finally:
            listener.cancel()
            store.watchers.discard(watcher)
            if conn:
                conn.open_watches -= 1


# ---------------------------------------------------------------- admin app

class AdminApp:
    """Fault injection and statistics, plain HTTP on loopback, no auth.

    POST /compact             forget the history: older resourceVersions get 410
    POST /close-watches       end every watch stream
    POST /stall, /unstall     hold watch streams open without sending anything
    POST /down[?seconds=N]    stop listening and drop every connection (state is
                              kept); back after N seconds, or at POST /up
    POST /up
    POST /delay?seconds=N     answer every non-watch request N seconds late
    POST /token?value=T       accept bearer token T as well
    GET  /stats               connections, streams and watches per connection
    """

    def __init__(self, server):
        self.server = server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        await read_body(receive)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(scope["query_string"].decode())
                 .items()}
        server, store = self.server, self.server.store
        action = (scope["method"], scope["path"])
        if action == ("GET", "/stats"):
            body = dict(server.registry.stats(), resourceVersion=store.rv,
                        compactedResourceVersion=store.compacted_rv,
                        watches=len(store.watchers), stalled=store.stalled,
                        queuedEvents=sum(len(w.events) for w in store.watchers),
                        listening=server.api_listener.listening)
        elif action == ("POST", "/compact"):
            body = {"compactedResourceVersion": store.compact()}
        elif action == ("POST", "/close-watches"):
            body = {"closed": store.close_watches("closed by the admin endpoint")}
        elif action in (("POST", "/stall"), ("POST", "/unstall")):
            store.set_stalled(scope["path"] == "/stall")
            body = {"stalled": store.stalled}
        elif action == ("POST", "/down"):
            await server.api_listener.stop()
            if query.get("seconds"):
                asyncio.get_running_loop().call_later(
                    float(query["seconds"]), lambda: asyncio.ensure_future(
                        server.api_listener.start()))
            body = {"listening": False}
        elif action == ("POST", "/up"):
            await server.api_listener.start()
            body = {"listening": True}
        elif action == ("POST", "/delay"):
            server.api_app.response_delay = float(query.get("seconds", "0"))
            body = {"delaySeconds": server.api_app.response_delay}
        elif action == ("POST", "/token") and query.get("value"):
            server.api_app.tokens.add(query["value"])
            body = {"tokens": len(server.api_app.tokens)}
        else:
            await send_json(send, 404, {"error": f"no admin action {scope['method']} "
                                                 f"{scope['path']}"})
            return
        await send_json(send, 200, body)


# ---------------------------------------------------------------- certificates

def _name(cn, org=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _certificate(subject, key, issuer, issuer_key, ca=False, sans=(), usage=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_credentials(host):
    """A CA, a server certificate for loopback and `host`, a client
    certificate (CN ferry-test-admin, O system:masters) and a token."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(_name("ferry-test-ca"), ca_key, _name("ferry-test-ca"), ca_key, ca=True)
    sans = {x509.DNSName("localhost"), x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))}
    try:
        sans.add(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        sans.add(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(_name("ferry-test-apiserver"), server_key, ca.subject, ca_key,
                          sans=sorted(sans, key=str), usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(_name("ferry-test-admin", "system:masters"), client_key, ca.subject,
                          ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return {"ca.crt": _pem(ca), "server.crt": _pem(server), "server.key": _key_pem(server_key),
            "client.crt": _pem(client), "client.key": _key_pem(client_key),
            "token": secrets.token_urlsafe(32).encode()}


def kubeconfig(server_url, creds):
    def b64(name):
        return base64.b64encode(creds[name]).decode()
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "token",
        "clusters": [{"name": "ferry-test", "cluster": {
            "server": server_url, "certificate-authority-data": b64("ca.crt")}}],
        "users": [{"name": "token", "user": {"token": creds["token"].decode()}},
                  {"name": "cert", "user": {"client-certificate-data": b64("client.crt"),
                                            "client-key-data": b64("client.key")}}],
        "contexts": [{"name": "token", "context": {"cluster": "ferry-test", "user": "token"}},
                     {"name": "cert", "context": {"cluster": "ferry-test", "user": "cert"}}],
    }, sort_keys=False).encode()


def write_atomically(path, data, mode=0o600):
    tmp = f"{path}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- listeners

class PeerClosingTCPServer(TCPServer):
    """hypercorn 0.13's TCPServer tells the protocol nothing when the peer
    closes cleanly: its streams never see http.disconnect, so a watch would
    outlive its client. Closing twice is harmless (h11 and h2 both check)."""

    async def _read_data(self):
        await super()._read_data()
        await self.protocol.handle(Closed())


class Listener:
    """One listening socket served by hypercorn's per-connection protocol
    (TCPServer). The accept loop is ours, not hypercorn.serve's, so that the
    admin endpoint can stop listening, drop connections and listen again on
    the same port, and so that each connection is known by peer address."""

    def __init__(self, host, port, app, ssl_context, config, registry):
        self.host, self.port, self.app = host, port, app
        self.ssl_context, self.config, self.registry = ssl_context, config, registry
        self.context = WorkerContext()
        self.server = None
        # asyncio holds connection tasks weakly: a task waiting on its peer
        # would otherwise be collected mid-connection.
        self.tasks = set()

    @property
    def listening(self):
        return self.server is not None

    async def start(self):
        if self.server:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family, backlog=1024)
        self.port = sock.getsockname()[1]
        self.server = await asyncio.start_server(self.on_connection, sock=sock,
                                                 ssl=self.ssl_context)

    async def stop(self):
        if self.server:
            self.server.close()
            self.server = None
        self.registry.drop_all()

    async def on_connection(self, reader, writer):
        # asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP,
        # not on those create_server makes: without it each response waits
        # ~40 ms for the peer's delayed ACK.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = self.registry.opened(writer)
        task = asyncio.current_task()
        self.tasks.add(task)
        try:
            await PeerClosingTCPServer(self.app, asyncio.get_running_loop(), self.config, self.context,
                            reader, writer)
        finally:
            self.registry.closed(conn)
            self.tasks.discard(task)

    async def shutdown(self):
        await self.stop()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def parse_listen(text):
    m = re.fullmatch(r"\[([0-9a-fA-F:]+)\]:(\d+)|([^:]+):(\d+)", text)
    if not m:
        raise SystemExit(f"--listen/--admin-listen {text!r}: expected HOST:PORT or [V6]:PORT")
    return (m[1], int(m[2])) if m[1] else (m[3], int(m[4]))


class Server:
    def __init__(self, options):
        self.options = options
        self.catalogue = Catalogue()
        low, high = (int(p) for p in options.node_port_range.split("-"))
        self.store = Store(self.catalogue, ServiceAdmission(options.service_cidrs, (low, high)),
                           options.history, options.watch_queue)
        self.registry = Registry()

    def load_crds(self, directory):
        for name in sorted(os.listdir(directory)):
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(directory, name)
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if not doc or doc.get("kind") != "CustomResourceDefinition":
                        continue
                    try:
                        doc["status"] = crd_status(doc)
                        self.store.create(CRD_RESOURCE, doc)
                    except ApiError as err:
                        raise SystemExit(f"--crds: {path}: {err.message}")

    async def run(self):
        options, state = self.options, self.options.state_dir
        os.makedirs(state, exist_ok=True)
        host, port = parse_listen(options.listen)
        creds = make_credentials(host)
        for name in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key", "token"):
            write_atomically(os.path.join(state, name), creds[name])
        options.token = creds["token"].decode()

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        ssl_context.load_cert_chain(os.path.join(state, "server.crt"),
                                    os.path.join(state, "server.key"))
        ssl_context.load_verify_locations(os.path.join(state, "ca.crt"))
        ssl_context.verify_mode = ssl.CERT_OPTIONAL
        ssl_context.set_alpn_protocols(["h2", "http/1.1"])

        config = Config()
        config.h2_max_concurrent_streams = options.max_streams
        config.keep_alive_timeout = 120
        config.errorlog = None

        self.api = Api(self.store, self.catalogue, options)
        self.api_app = ApiApp(self.api, self.registry, options)
        self.api_listener = Listener(host, port, self.api_app, ssl_context, config,
                                     self.registry)
        await self.api_listener.start()
        url_host = f"[{host}]" if ":" in host else host
        options.advertised = f"{url_host}:{self.api_listener.port}"

        admin_host, admin_port = parse_listen(options.admin_listen)
        admin = Listener(admin_host, admin_port, AdminApp(self), None, config, Registry())
        await admin.start()

        write_atomically(os.path.join(state, "kubeconfig"),
                         kubeconfig(f"https://{options.advertised}", creds))
        write_atomically(os.path.join(state, "admin-port"), f"{admin.port}\n".encode())
        write_atomically(os.path.join(state, "ready"), f"{self.api_listener.port}\n".encode())

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        self.store.close_watches("server shutting down")
        await admin.shutdown()
        await self.api_listener.shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT of the API (TLS)")
    parser.add_argument("--admin-listen", default="127.0.0.1:0",
                        help="HOST:PORT of the fault-injection endpoint (plain HTTP)")
    parser.add_argument("--state-dir", required=True,
                        help="where kubeconfig, certificates, token and ready are written")
    parser.add_argument("--crds", help="a directory of CustomResourceDefinition YAML files")
    parser.add_argument("--service-cidrs", default="10.96.0.0/16,fd00:10:96::/108",
                        help="where Services' cluster IPs come from, the first family primary")
    parser.add_argument("--node-port-range", default="30000-32767")
    parser.add_argument("--bookmark-interval", type=float, default=60.0,
                        help="seconds between BOOKMARK events on watches that allow them")
    parser.add_argument("--watch-timeout", type=float, default=1800.0,
                        help="seconds a watch without timeoutSeconds lasts")
    parser.add_argument("--history", type=int, default=100000,
                        help="changes kept for watch resume and paginated lists")
    parser.add_argument("--watch-queue", type=int, default=10000,
                        help="events a watcher may fall behind before it is closed")
    parser.add_argument("--max-streams", type=int, default=1000,
                        help="concurrent HTTP/2 streams per connection (kube's default)")
    options = parser.parse_args(argv)
    server = Server(options)
    if options.crds:
        server.load_crds(options.crds)
    asyncio.run(server.run())


if __name__ == "__main__":
    main()
