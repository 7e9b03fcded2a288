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
