"""The test API server driven by kubectl: both kubeconfig contexts, create,
apply (client and server side), replace, patch of the status subresource,
delete, get -w and wait, on Ferry's CRDs and on core resources."""

import json
import os
import re
import unittest

from harness import CRDS, EXAMPLES, WAIT_TIMEOUT, ApiServer, wait_for

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, protocol: TCP}]
"""

TEST_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.test
spec:
  group: example.test
  scope: Namespaced
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def table(output):
    """kubectl's aligned table as one dict per row, cut where the header's
    columns start (cells may be empty; names may hold a space)."""
    header, *rows = output.splitlines()
    starts = [m.start() for m in re.finditer(r"(?:(?<=  )|^)\S", header)]
    bounds = list(zip(starts, starts[1:] + [None]))
    names = [header[a:b].strip() for a, b in bounds]
    return [{n: row[a:b].strip() for n, (a, b) in zip(names, bounds)} for row in rows]


class KubectlTest(unittest.TestCase):
    def setUp(self):
        self.server = ApiServer(self)
        self.kubectl = self.server.kubectl

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def test_both_kubeconfig_contexts_authenticate(self):
        for context in ("token", "cert"):
            out = self.kubectl("get", "namespaces", "-o", "name", context=context).stdout
            self.assertIn("namespace/default", out.split())
        version = json.loads(self.kubectl("version", "-o", "json").stdout)
        self.assertEqual(version["serverVersion"]["gitVersion"], "v1.32.0-ferry-test")

    def test_ipv6_loopback(self):
        v6 = ApiServer(self, "--listen", "[::1]:0")
        self.assertEqual(v6.url, f"https://[::1]:{v6.port}")
        out = v6.kubectl("get", "namespaces", "-o", "name", context="cert").stdout
        self.assertIn("namespace/default", out.split())

    def test_create_get_replace_and_delete(self):
        self.assertIn("service/web created",
                      self.kubectl("create", "-f", "-", stdin=SERVICE).stdout)
        created = self.get_json("service", "web")
        failed = self.kubectl("create", "-f", "-", stdin=SERVICE, check=False)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn('Error from server (AlreadyExists): error when creating "STDIN": '
                      'services "web" already exists', failed.stderr)
        replaced = self.kubectl("replace", "-f", "-",
                                stdin=SERVICE.replace("app: web}", "app: web, tier: front}", 1))
        self.assertIn("service/web replaced", replaced.stdout)
        after = self.get_json("service", "web")
        self.assertEqual(after["metadata"]["labels"], {"app": "web", "tier": "front"})
        self.assertEqual(after["metadata"]["uid"], created["metadata"]["uid"])
        stale = dict(created)
        stale["metadata"]["labels"] = {"stale": "yes"}
        conflict = self.kubectl("replace", "-f", "-", stdin=json.dumps(stale), check=False)
        self.assertIn("Error from server (Conflict)", conflict.stderr)
        self.assertIn('service "web" deleted', self.kubectl("delete", "service", "web").stdout)
        missing = self.kubectl("get", "service", "web", check=False)
        self.assertIn('Error from server (NotFound): services "web" not found', missing.stderr)

    def test_apply_of_ferry_examples_then_unchanged(self):
        applied = self.kubectl("apply", "-f", EXAMPLES).stdout
        for line in ("loadbalancerippool.ferry.dev/bgp created", "service/web created",
                     "bgppeer.ferry.dev/gw created", "l2announcementpolicy.ferry.dev/lan created",
                     "endpointslice.discovery.k8s.io/web-ipv4 created", "node/node1 created"):
            self.assertIn(line, applied)
        again = self.kubectl("apply", "-f", EXAMPLES).stdout
        self.assertIn("loadbalancerippool.ferry.dev/bgp unchanged", again)
        self.assertIn("service/web unchanged", again)
        pools = self.get_json("lbpool")
        self.assertEqual(sorted(p["metadata"]["name"] for p in pools["items"]), ["bgp", "l2"])
        self.assertEqual(pools["items"][0]["metadata"]["generation"], 1)
        edited = self.kubectl("apply", "-f", "-", stdin=json.dumps(
            {"apiVersion": "ferry.dev/v1alpha1", "kind": "LoadBalancerIPPool",
             "metadata": {"name": "bgp"}, "spec": {"blocks": [{"cidr": "198.19.0.0/24"}]}}))
        self.assertIn("configured", edited.stdout)
        self.assertEqual(self.get_json("lbpool", "bgp")["metadata"]["generation"], 2)

    def test_apply_of_the_crds_and_of_a_new_crd(self):
        self.assertIn("configured", self.kubectl("apply", "-f", CRDS).stdout)
        self.kubectl("apply", "-f", "-", stdin=TEST_CRD)
        self.kubectl("wait", "--for=condition=Established", "crd/widgets.example.test",
                     f"--timeout={WAIT_TIMEOUT}s")
        self.kubectl("create", "-f", "-", stdin=json.dumps(
            {"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": "w"}}))
        self.assertEqual(self.kubectl("get", "widgets", "-o", "name").stdout.split(),
                         ["widget.example.test/w"])
        self.kubectl("delete", "crd", "widgets.example.test")
        gone = self.kubectl("get", "widgets", check=False)
        self.assertIn("NotFound", gone.stderr, "the CRD's resources went with it")

    def test_server_side_apply(self):
        first = self.kubectl("apply", "--server-side", "-f", "-", stdin=SERVICE)
        self.assertIn("service/web serverside-applied", first.stdout)
        before = self.get_json("service", "web")["metadata"]["resourceVersion"]
        self.kubectl("apply", "--server-side", "-f", "-", stdin=SERVICE)
        self.assertEqual(self.get_json("service", "web")["metadata"]["resourceVersion"], before,
                         "applying the same thing changes nothing")
        self.kubectl("apply", "--server-side", "-f", "-",
                     stdin=SERVICE.replace("port: 80", "port: 8080"))
        ports = self.get_json("service", "web")["spec"]["ports"]
        self.assertIn(8080, [p["port"] for p in ports])

    def test_patch_of_the_status_subresource(self):
        self.kubectl("apply", "-f", os.path.join(EXAMPLES, "service.yaml"))
        ingress = {"loadBalancer": {"ingress": [{"ip": "198.19.0.10", "ipMode": "VIP"}]}}
        self.kubectl("patch", "service", "web", "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": ingress, "spec": {"type": "ClusterIP"}}))
        svc = self.get_json("service", "web")
        self.assertEqual(svc["status"], ingress)
        self.assertEqual(svc["spec"]["type"], "LoadBalancer", "a status patch leaves spec")
        self.kubectl("patch", "service", "web", "--type=merge",
                     "-p", json.dumps({"status": {"loadBalancer": {}}}))
        self.assertEqual(self.get_json("service", "web")["status"], ingress,
                         "a main patch leaves status")
        self.kubectl("apply", "-f", os.path.join(EXAMPLES, "pools.yaml"))
        self.kubectl("patch", "lbpool", "bgp", "--subresource=status", "--type=json", "-p",
                     json.dumps([{"op": "add", "path": "/status",
                                  "value": {"conditions": [{"type": "Ready",
                                                            "status": "True"}]}}]))
        out = self.kubectl("get", "lbpool", "bgp", "-o",
                           "jsonpath={.status.conditions[0].type}").stdout
        self.assertEqual(out, "Ready")

    def test_get_prints_the_columns_kube_prints(self):
        self.kubectl("apply", "-f", os.path.join(EXAMPLES, "service.yaml"))
        self.kubectl("apply", "-f", os.path.join(EXAMPLES, "pools.yaml"))
        self.kubectl("patch", "service", "web", "--subresource=status", "--type=merge", "-p",
                     json.dumps({"status": {"loadBalancer": {"ingress": [
                         {"ip": "198.19.0.10"}, {"ip": "2001:db8:19::10"}]}}}))
        header, row = self.kubectl("get", "service", "web", "-o", "wide").stdout.splitlines()
        self.assertEqual(header.split(), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                          "PORT(S)", "AGE", "SELECTOR"])
        name, kind, cluster_ip, external, ports, _, selector = row.split()
        self.assertEqual((name, kind, external, selector),
                         ("web", "LoadBalancer", "198.19.0.10,2001:db8:19::10", "app=web"))
        self.assertTrue(cluster_ip.startswith("10.96."))
        self.assertRegex(ports, r"^80:3\d{4}/TCP$")
        self.kubectl("patch", "lbpool", "bgp", "--subresource=status", "--type=merge", "-p",
                     json.dumps({"status": {"conditions": [
                         {"type": "Conflict", "status": "False"},
                         {"type": "Ready", "status": "True"}], "ipv4": {"free": "65535"}}}))
        self.kubectl("create", "-f", "-", stdin=json.dumps({
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.1"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "ferry.dev/ferryd",
            "reportingInstance": "node1", "action": "Allocate", "reason": "IPAllocated",
            "type": "Normal", "regarding": {"kind": "Service", "name": "web"},
            "note": "198.19.0.10 from pool bgp"}))
        event = table(self.kubectl("get", "events").stdout)[0]
        self.assertEqual({k: v for k, v in event.items() if k != "LAST SEEN"},
                         {"TYPE": "Normal", "REASON": "IPAllocated", "OBJECT": "service/web",
                          "MESSAGE": "198.19.0.10 from pool bgp"})
        pool = table(self.kubectl("get", "lbpool", "bgp").stdout)[0]
        self.assertEqual(pool, {"NAME": "bgp", "DISABLED": "", "READY": "True",
                                "CONFLICT": "False", "IPV4 FREE": "65535", "IPV6 FREE": "",
                                "AGE": pool["AGE"]}, "the CRD's printer columns")

    def test_get_watch_prints_each_change(self):
        self.kubectl("create", "-f", "-", stdin=SERVICE)
        proc, lines = self.server.popen(
            self.server.kubectl_command() + ["get", "services", "-w",
                                             "--output-watch-events", "-o",
                                             "jsonpath={.type} {.object.metadata.name}{\"\\n\"}"])

        def next_line():
            line = lines.get(timeout=WAIT_TIMEOUT)
            self.assertIsNotNone(line, "kubectl get -w ended")
            return line
        self.assertEqual(next_line(), "ADDED web")
        self.kubectl("label", "service", "web", "tier=front")
        self.assertEqual(next_line(), "MODIFIED web")
        self.kubectl("delete", "service", "web")
        self.assertEqual(next_line(), "DELETED web")
        stats = self.server.admin("GET", "/stats")
        watching = [c for c in stats["connections"] if c["openWatches"]]
        self.assertEqual([c["protocol"] for c in watching], ["h2"], "kubectl speaks HTTP/2")

    def test_wait_for_a_condition_set_through_status(self):
        self.kubectl("apply", "-f", os.path.join(EXAMPLES, "pools.yaml"))
        proc, lines = self.server.popen(
            self.server.kubectl_command() + ["wait",
             "--for=condition=Ready", "lbpool/bgp", f"--timeout={WAIT_TIMEOUT}s"])
        wait_for(lambda: self.server.admin("GET", "/stats")["watches"] == 1,
                 "kubectl wait to watch")
        self.kubectl("patch", "lbpool", "bgp", "--subresource=status", "--type=merge", "-p",
                     json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}))
        self.assertEqual(proc.wait(WAIT_TIMEOUT), 0)
        self.assertIn("condition met", lines.get(timeout=WAIT_TIMEOUT))


if __name__ == "__main__":
    unittest.main()
