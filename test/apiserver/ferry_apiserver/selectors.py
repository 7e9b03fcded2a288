"""Label and field selectors, with kube's grammar."""

import re

from .errors import bad_request


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
