"""The resources served: the built-in types Ferry uses and those of CRDs."""

import dataclasses

from .errors import invalid


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
    Resource("events.k8s.io", "v1", "events", "Event", True),
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
        """Serves `crd`'s resources in place of `previous`'s; an invalid
        `crd` raises before anything changes."""
        resources = resources_of_crd(crd)
        if previous:
            self.drop_crd(previous)
        for r in resources:
            self.by_key[r.key] = r

    def drop_crd(self, crd):
        for r in resources_of_crd(crd):
            self.by_key.pop(r.key, None)
