"""The Helm chart and the kustomize base: lint, what the rendered objects
grant and run, and that both install the same objects and CRDs."""

import os
import subprocess
import tarfile
import tempfile
import unittest

import charts
import yaml

# The ferryd capabilities with BGP on a port below 1024 (the default, 179).
CAPABILITIES = {"NET_ADMIN", "NET_RAW", "SYS_ADMIN", "NET_BIND_SERVICE"}
READ = ["get", "list", "watch"]
# Everything the agent may do, as (apiGroup, resource) -> verbs. Writes are
# status subresources and Events only; Secrets and Leases are not in here.
CLUSTER_RULES = {
    ("", "services"): READ,
    ("", "nodes"): READ,
    ("", "services/status"): ["update", "patch"],
    ("discovery.k8s.io", "endpointslices"): READ,
    ("events.k8s.io", "events"): ["create", "patch"],
    **{("ferry.dev", kind): READ for kind in
       ("loadbalancerippools", "l2announcementpolicies", "bgppeers", "bgpadvertisements")},
    **{("ferry.dev", f"{kind}/status"): ["update", "patch"] for kind in
       ("loadbalancerippools", "l2announcementpolicies", "bgppeers", "bgpadvertisements")},
}
NAMESPACE_RULES = {
    ("", "secrets"): READ,
    ("coordination.k8s.io", "leases"): ["get", "list", "watch", "create", "update"],
}


def rules(role):
    """A Role's rules as (apiGroup, resource) -> sorted verbs; fails on a
    wildcard anywhere or on a resourceNames/nonResourceURLs rule."""
    granted = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, f"unexpected rule fields: {rule}"
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return {k: sorted(v) for k, v in granted.items()}


def sorted_rules(expected):
    return {k: sorted(v) for k, v in expected.items()}


class Lint(unittest.TestCase):
    def test_lint_default_and_talos_values(self):
        for values in (["--set", "uplink=eth0"], ["-f", charts.TALOS_VALUES]):
            charts.run([charts.tool("helm"), "lint", "--strict", charts.CHART, *values])

    def test_uplink_is_required(self):
        done = subprocess.run([charts.tool("helm"), "template", "ferry", charts.CHART],
                              capture_output=True, text=True, check=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("uplink: name the nodes' uplink interface", done.stderr)


class DaemonSet(unittest.TestCase):
    def check_agent(self, objects, uplink):
        daemonset = charts.one(objects, "DaemonSet")
        pod = daemonset["spec"]["template"]["spec"]
        container = charts.ferryd_container(objects)

        self.assertEqual(daemonset["spec"]["updateStrategy"],
                         {"type": "RollingUpdate",
                          "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        self.assertIs(pod["hostNetwork"], True)
        self.assertEqual(pod["dnsPolicy"], "ClusterFirstWithHostNet")
        self.assertEqual(pod["priorityClassName"], "system-node-critical")
        self.assertEqual(pod["tolerations"], [{"operator": "Exists"}])
        self.assertEqual(pod["serviceAccountName"],
                         charts.one(objects, "ServiceAccount")["metadata"]["name"])
        self.assertNotIn("initContainers", pod)
        self.assertEqual(len(pod["containers"]), 1)

        security = container["securityContext"]
        self.assertIs(security["privileged"], False)
        self.assertNotIn("allowPrivilegeEscalation", security)
        self.assertIs(security["readOnlyRootFilesystem"], True)
        self.assertEqual(security["capabilities"]["drop"], ["ALL"])
        self.assertEqual(sorted(security["capabilities"]["add"]), sorted(CAPABILITIES))

        args = container["args"]
        self.assertIn("--node=$(K8S_NODE_NAME)", args)
        self.assertIn("--in-cluster", args)
        self.assertIn(f"--uplink={uplink}", args)
        self.assertIn("--namespace=$(K8S_NAMESPACE)", args)
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
        self.assertEqual(env, {"K8S_NODE_NAME": "spec.nodeName",
                               "K8S_NAMESPACE": "metadata.namespace"})

        # The probes ask the address and port ferryd serves them on.
        self.assertIn("--health-listen=127.0.0.1:9878", args)
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            self.assertEqual(container[probe]["httpGet"],
                             {"host": "127.0.0.1", "port": 9878, "path": path}, probe)

        volumes = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
        self.assertEqual(volumes, {"bpffs": "/sys/fs/bpf", "run-ferry": "/run/ferry"})
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts, volumes)
        return args

    def test_default_values(self):
        objects = charts.helm_template("--set", "uplink=eth0")
        args = self.check_agent(objects, "eth0")
        self.assertFalse([a for a in args if a.startswith("--api-server")])
        self.assertEqual(charts.ferryd_container(objects)["image"], "ferry:0.1.0")

    def test_talos_values(self):
        objects = charts.helm_template("-f", charts.TALOS_VALUES)
        args = self.check_agent(objects, "enp1s0")
        self.assertIn("--api-server=https://localhost:7445", args)

    def test_bgp_port_above_1023_drops_net_bind_service(self):
        for port in (0, 1179):
            objects = charts.helm_template("--set", "uplink=eth0",
                                           "--set", f"bgpListenPort={port}")
            container = charts.ferryd_container(objects)
            self.assertEqual(sorted(container["securityContext"]["capabilities"]["add"]),
                             sorted(CAPABILITIES - {"NET_BIND_SERVICE"}), port)
            self.assertIn(f"--bgp-listen-port={port}", container["args"])

    def test_values_become_arguments(self):
        # From a file, as users give them: numbers are floats to the
        # template, and must not print as 1.000003e+06.
        values = {"uplink": "bond0", "mapSizes": {"flows": 10485760, "backends": 4096},
                  "maglevSize": 1000003, "healthPort": 9900,
                  "extraArgs": ["--tunnel-mtu=1480"],
                  "image": {"repository": "registry.example/ferry", "tag": "dev"}}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            yaml.safe_dump(values, file)
            file.flush()
            objects = charts.helm_template("-f", file.name)
        container = charts.ferryd_container(objects)
        for arg in ("--uplink=bond0", "--map-sizes=backends=4096,flows=10485760",
                    "--maglev-size=1000003", "--health-listen=127.0.0.1:9900",
                    "--tunnel-mtu=1480"):
            self.assertIn(arg, container["args"])
        self.assertEqual(container["readinessProbe"]["httpGet"]["port"], 9900)
        self.assertEqual(container["image"], "registry.example/ferry:dev")


class Rbac(unittest.TestCase):
    def test_least_privilege(self):
        for namespace in (charts.NAMESPACE, "ferry-system"):
            objects = charts.helm_template("--set", "uplink=eth0", namespace=namespace)
            account = charts.one(objects, "ServiceAccount")["metadata"]
            self.assertEqual(account["namespace"], namespace)
            self.assertEqual(rules(charts.one(objects, "ClusterRole")), sorted_rules(CLUSTER_RULES))
            role = charts.one(objects, "Role")
            self.assertEqual(role["metadata"]["namespace"], namespace)
            self.assertEqual(rules(role), sorted_rules(NAMESPACE_RULES))
            for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"),
                                    ("RoleBinding", "Role")):
                binding = charts.one(objects, kind)
                self.assertEqual(binding["roleRef"]["kind"], role_kind)
                self.assertEqual(binding["roleRef"]["name"],
                                 charts.one(objects, role_kind)["metadata"]["name"])
                self.assertEqual(binding["subjects"],
                                 [{"kind": "ServiceAccount", "name": account["name"],
                                   "namespace": namespace}])


class Kustomize(unittest.TestCase):
    def test_base_is_fresh(self):
        charts.run([os.path.join(charts.REPO, "scripts", "render-kustomize"), "--check"])

    def check_same_objects(self, kustomize_dir, values):
        helm = charts.by_key(charts.helm_template("-f", values, include_crds=True))
        kustomize = charts.by_key(charts.kustomize(kustomize_dir))
        self.assertEqual(sorted(kustomize), sorted(helm))
        for name, obj in helm.items():
            self.assertEqual(kustomize[name], obj, name)

    def test_same_objects_as_helm(self):
        self.check_same_objects(charts.KUSTOMIZE, charts.KUSTOMIZE_VALUES)

    def test_talos_overlay_same_objects_as_helm_talos_values(self):
        self.check_same_objects(charts.KUSTOMIZE_TALOS, charts.TALOS_VALUES)

    def test_crds_in_both(self):
        files = set()
        for entry in os.listdir(charts.CRDS):
            if entry.endswith(".yaml"):
                with open(os.path.join(charts.CRDS, entry)) as f:
                    files.update(doc["metadata"]["name"] for doc in yaml.safe_load_all(f)
                                 if doc and doc["kind"] == "CustomResourceDefinition")
        self.assertEqual(len(files), 4)
        for source, objects in (
                ("helm --include-crds", charts.helm_template("-f", charts.KUSTOMIZE_VALUES,
                                                             include_crds=True)),
                ("kubectl kustomize", charts.kustomize())):
            crds = {o["metadata"]["name"] for o in objects
                    if o["kind"] == "CustomResourceDefinition"}
            self.assertEqual(crds, files, source)
        # The chart installs them from crds/ only (before everything else,
        # never upgraded by helm), not from templates/.
        self.assertFalse([o for o in charts.helm_template("-f", charts.KUSTOMIZE_VALUES)
                          if o["kind"] == "CustomResourceDefinition"])

    def test_packaged_chart_holds_the_crds(self):
        """The chart's crds/ is a symlink to deploy/crds: `helm package`
        must copy the files it points at, and leave out the kustomization."""
        with tempfile.TemporaryDirectory() as out:
            charts.run([charts.tool("helm"), "package", charts.CHART, "-d", out])
            with tarfile.open(os.path.join(out, "ferry-0.1.0.tgz")) as package:
                crds = sorted(n for n in package.getnames() if n.startswith("ferry/crds/"))
        self.assertEqual(crds, [f"ferry/crds/{n}" for n in
                                ("bgpadvertisement.yaml", "bgppeer.yaml",
                                 "l2announcementpolicy.yaml", "loadbalancerippool.yaml")])


if __name__ == "__main__":
    unittest.main()
