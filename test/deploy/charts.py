"""Renders the Helm chart and the kustomize base into parsed objects, with
the helm and kubectl that CMake found (or PATH, or scripts/install-deps'
folder)."""

import os
import shutil
import subprocess

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(REPO, "deploy", "helm", "ferry")
KUSTOMIZE = os.path.join(REPO, "deploy", "kustomize", "base")
KUSTOMIZE_TALOS = os.path.join(REPO, "deploy", "kustomize", "talos")
CRDS = os.path.join(REPO, "deploy", "crds")
TALOS_VALUES = os.path.join(CHART, "values-talos.yaml")
KUSTOMIZE_VALUES = os.path.join(KUSTOMIZE, "helm-values.yaml")
NAMESPACE = "kube-system"


def tool(name):
    """The path of helm or kubectl: FERRY_HELM / FERRY_KUBECTL, else PATH,
    else /opt/ferry-tools/bin."""
    for candidate in (os.environ.get(f"FERRY_{name.upper()}"), shutil.which(name),
                      f"/opt/ferry-tools/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"{name} not found: run scripts/install-deps")


def run(args):
    """Runs a command; its stdout, or an AssertionError with its stderr."""
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def parse(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


def helm_template(*values_args, include_crds=False, namespace=NAMESPACE):
    """`helm template ferry` of the chart with these -f/--set arguments."""
    args = [tool("helm"), "template", "ferry", CHART, "--namespace", namespace, *values_args]
    if include_crds:
        args.append("--include-crds")
    return parse(run(args))


def kustomize(directory=KUSTOMIZE):
    return parse(run([tool("kubectl"), "kustomize", directory]))


def key(obj):
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def by_key(objects):
    return {key(obj): obj for obj in objects}


def one(objects, kind):
    found = [obj for obj in objects if obj["kind"] == kind]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} objects of kind {kind}, expected one")
    return found[0]


def ferryd_container(objects):
    containers = one(objects, "DaemonSet")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "ferryd")
