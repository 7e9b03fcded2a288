"""Table answers (as=Table): the columns kubectl get prints."""

import datetime
import json
import re

from .catalogue import CRD_RESOURCE


def human_age(timestamp, now=None):
    """kube's duration.HumanDuration of the time since `timestamp`."""
    try:
        then = datetime.datetime.strptime(timestamp.split(".")[0].rstrip("Z"),
                                          "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc)
    except (AttributeError, ValueError):
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
                found += [item for item in v
                          if isinstance(item, dict) and str(_cell(item, "." + m[3])) == m[4]]
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


def _event_last_seen(event):
    series = event.get("series") or {}
    return human_age(event.get("lastTimestamp") or event.get("deprecatedLastTimestamp") or
                     series.get("lastObservedTime") or event.get("eventTime") or
                     event["metadata"].get("creationTimestamp"))


def _event_object(event):
    about = event.get("involvedObject") or event.get("regarding") or {}
    return f"{str(about.get('kind', '')).lower()}/{about.get('name', '')}"


EVENT_COLUMNS = [("Last Seen", 0, _event_last_seen), ("Type", 0, lambda e: e.get("type", "")),
                 ("Reason", 0, lambda e: e.get("reason", "")), ("Object", 0, _event_object),
                 ("Message", 0, lambda e: e.get("message") or e.get("note") or "")]
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
    name = ("Name", 0, lambda o: o["metadata"]["name"])
    if res.plural == "events":
        # kube shows an Event's name only with -o wide
        return EVENT_COLUMNS + [(name[0], 1, name[2])]
    return [name] + columns


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
