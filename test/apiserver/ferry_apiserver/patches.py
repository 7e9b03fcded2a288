"""PATCH: merge, JSON, strategic merge and server-side apply."""

import copy
import json

import jsonpatch
import yaml

from .errors import ApiError, bad_request, invalid


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
# Server-side apply follows the OpenAPI list types, which differ for a Node's
# addresses: atomic there (+listType=atomic), since a dual-stack node has two
# InternalIPs and a list keyed by type cannot hold both.
APPLY_MERGE_KEYS = {k: v for k, v in MERGE_KEYS.items() if k != "addresses"}
MERGED_PRIMITIVE_LISTS = {"finalizers"}


def strategic_merge(target, patch, field=None, keys=MERGE_KEYS):
    """Strategic merge patch for the directives kubectl sends ($patch,
    $retainKeys, $setElementOrder, $deleteFromPrimitiveList) over `keys`."""
    if isinstance(patch, list):
        return _strategic_merge_list(target if isinstance(target, list) else [], patch, field,
                                     keys)
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
            merged = strategic_merge(result.get(key), value, key, keys)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if "$retainKeys" in patch:
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _strategic_merge_list(target, patch, field, keys):
    if field in MERGED_PRIMITIVE_LISTS:
        return target + [v for v in patch if v not in target]
    key = keys.get(field)
    if key is None or not all(isinstance(item, dict) for item in patch + target):
        return [strategic_merge(None, item, keys=keys) for item in patch]
    result = list(target)
    for item in patch:
        index = next((i for i, old in enumerate(result) if old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge(None, item, keys=keys))
        else:
            result[index] = strategic_merge(result[index], item, keys=keys)
    return result


def apply_patch(res, content_type, stored, body, name):
    """The object a merge, JSON or strategic merge PATCH makes of `stored`."""
    try:
        patch = json.loads(body)
    except ValueError as err:
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
    raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type!r}")


# Fields an applied configuration names to say which object it is, not to own.
IDENTITY_PATHS = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


def field_paths(value, field=None, prefix=()):
    """The fields a configuration sets, as paths; an item of a keyed list
    is a step (merge key, value), as server-side apply's field sets have."""
    if isinstance(value, dict) and value:
        paths = set()
        for key, child in value.items():
            paths |= field_paths(child, key, prefix + (key,))
        return paths
    key = APPLY_MERGE_KEYS.get(field)
    if isinstance(value, list) and key and value and all(isinstance(i, dict) for i in value):
        paths = set()
        for item in value:
            item_path = prefix + ((key, item.get(key)),)
            paths |= {item_path} | field_paths({k: v for k, v in item.items() if k != key},
                                               None, item_path)
        return paths
    return {prefix}


def _child(value, step):
    if isinstance(step, tuple):
        key, wanted = step
        return next((i for i in value if isinstance(i, dict) and i.get(key) == wanted),
                    None) if isinstance(value, list) else None
    return value.get(step) if isinstance(value, dict) else None


def _remove(obj, path):
    """Removes the field at `path`, then the maps it leaves empty."""
    parent = obj
    for step in path[:-1]:
        parent = _child(parent, step)
    last = path[-1]
    if isinstance(last, tuple) and isinstance(parent, list):
        key, wanted = last
        parent[:] = [i for i in parent if not (isinstance(i, dict) and i.get(key) == wanted)]
    elif isinstance(parent, dict):
        parent.pop(last, None)
        if not parent and len(path) > 1 and not isinstance(path[-2], tuple):
            _remove(obj, path[:-1])


def server_side_apply(stored, body, owned_before, owned_by_others):
    """(object, fields the manager now owns): the applied configuration
    merged into `stored` (lists keyed as MERGE_KEYS says), without the
    fields this manager applied before, applies no more and no other
    manager applies, as kube's field management removes them."""
    try:
        applied = yaml.safe_load(body)
    except yaml.YAMLError as err:
        raise bad_request(f"error decoding patch: {err}")
    if not isinstance(applied, dict):
        raise bad_request("an applied configuration must be an object")
    owned = field_paths(applied) - IDENTITY_PATHS
    result = copy.deepcopy(stored) if stored else {}
    for path in sorted(owned_before - owned - owned_by_others, key=len, reverse=True):
        _remove(result, path)
    return strategic_merge(result, applied, keys=APPLY_MERGE_KEYS), owned
