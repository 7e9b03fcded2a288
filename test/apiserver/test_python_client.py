"""The test API server driven by python3-kubernetes: CRUD, preconditions,
status subresources, patches, selectors, pagination, watches, auth."""

import ipaddress
import json
import time
import unittest

import kubernetes
from kubernetes.client.rest import ApiException

from harness import ApiServer, WatchReader, pool, service

GROUP, VERSION, POOLS = "ferry.dev", "v1alpha1", "loadbalancerippools"


def status_of(err):
    """The meta/v1 Status a failed request answered with."""
    body = json.loads(err.body)
    assert body["kind"] == "Status", body
    return body


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.server = ApiServer(self, "--bookmark-interval", "0.2")
        self.api = self.server.client()
        self.core = kubernetes.client.CoreV1Api(self.api)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)

    def raw(self, method, path, body=None, content_type="application/json", query=None):
        """A request with a chosen content type; the decoded JSON answer."""
        response = self.api.call_api(
            path, method, query_params=query or [], body=body,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True)
        return json.loads(response.data)

    def assert_fails(self, code, reason, call, *args, **kwargs):
        with self.assertRaises(ApiException) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.status, code)
        status = status_of(caught.exception)
        self.assertEqual((status["code"], status["reason"]), (code, reason))
        return status

    def create_services(self, names, labels=None):
        return [self.core.create_namespaced_service("default", service(n, labels))
                for n in names]

    # -- discovery and CRUD

    def test_discovery_lists_groups_resources_and_subresources(self):
        self.assertEqual(kubernetes.client.VersionApi(self.api).get_code().minor, "32")
        core = {r.name: r for r in self.core.get_api_resources().resources}
        self.assertEqual(core["services"].short_names, ["svc"])
        self.assertIn("services/status", core)
        self.assertIn("nodes", core)
        groups = {g.name: g for g in kubernetes.client.ApisApi(self.api).get_api_versions().groups}
        for group in ("coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", GROUP,
                      "apiextensions.k8s.io"):
            self.assertIn(group, groups)
        ferry = self.raw("GET", f"/apis/{GROUP}/{VERSION}")
        names = {r["name"] for r in ferry["resources"]}
        self.assertTrue({"loadbalancerippools", "loadbalancerippools/status", "bgppeers",
                         "l2announcementpolicies", "bgpadvertisements"} <= names)

    def test_create_get_and_their_errors(self):
        created = self.core.create_namespaced_service("default", service("web"))
        self.assertTrue(created.metadata.uid)
        self.assertTrue(created.metadata.creation_timestamp)
        self.assertGreater(int(created.metadata.resource_version), 0)
        got = self.core.read_namespaced_service("web", "default")
        self.assertEqual(got.metadata.resource_version, created.metadata.resource_version)
        status = self.assert_fails(409, "AlreadyExists", self.core.create_namespaced_service,
                                   "default", service("web"))
        self.assertEqual(status["message"], 'services "web" already exists')
        status = self.assert_fails(404, "NotFound", self.core.read_namespaced_service,
                                   "nope", "default")
        self.assertEqual(status["details"], {"name": "nope", "kind": "services"})
        self.assert_fails(404, "NotFound", self.core.create_namespaced_service,
                          "no-such-namespace", service("web"))
        self.assert_fails(422, "Invalid", self.core.create_namespaced_service,
                          "default", service("Not_A_Name"))

    def test_resource_versions_come_from_one_counter(self):
        a = self.core.create_namespaced_service("default", service("a"))
        lease = kubernetes.client.CoordinationV1Api(self.api).create_namespaced_lease(
            "default", {"metadata": {"name": "l"}, "spec": {"holderIdentity": "node1"}})
        b = self.core.create_namespaced_service("default", service("b"))
        rvs = [int(o.metadata.resource_version) for o in (a, lease, b)]
        self.assertEqual(rvs, [rvs[0], rvs[0] + 1, rvs[0] + 2])

    def test_update_with_a_stale_resource_version_conflicts(self):
        first = self.core.create_namespaced_service("default", service("web"))
        first.metadata.labels = {"tier": "front"}
        second = self.core.replace_namespaced_service("web", "default", first)
        self.assertGreater(int(second.metadata.resource_version),
                           int(first.metadata.resource_version))
        first.metadata.labels = {"tier": "back"}
        status = self.assert_fails(409, "Conflict", self.core.replace_namespaced_service,
                                   "web", "default", first)
        self.assertIn("the object has been modified", status["message"])
        same = self.core.replace_namespaced_service("web", "default", second)
        self.assertEqual(same.metadata.resource_version, second.metadata.resource_version,
                         "a write that changes nothing makes no new resourceVersion")

    def test_delete_with_preconditions(self):
        created = self.core.create_namespaced_service("default", service("web"))
        self.assert_fails(409, "Conflict", self.core.delete_namespaced_service, "web", "default",
                          body={"preconditions": {"resourceVersion": "1"}})
        self.core.delete_namespaced_service(
            "web", "default",
            body={"preconditions": {"resourceVersion": created.metadata.resource_version}})
        self.assert_fails(404, "NotFound", self.core.read_namespaced_service, "web", "default")
        self.assert_fails(404, "NotFound", self.core.delete_namespaced_service, "web", "default")

    def test_services_get_kube_defaults_addresses_and_node_ports(self):
        plain = self.raw("POST", "/api/v1/namespaces/default/services",
                         {"metadata": {"name": "plain"}, "spec": {"ports": [{"port": 80}]}})
        spec = plain["spec"]
        self.assertEqual((spec["type"], spec["sessionAffinity"], spec["ipFamilyPolicy"],
                          spec["ipFamilies"], spec["internalTrafficPolicy"]),
                         ("ClusterIP", "None", "SingleStack", ["IPv4"], "Cluster"))
        self.assertEqual(spec["ports"], [{"port": 80, "protocol": "TCP", "targetPort": 80}])
        self.assertTrue(spec["clusterIP"].startswith("10.96."))
        self.assertEqual(spec["clusterIPs"], [spec["clusterIP"]])
        self.assertEqual(plain["status"], {"loadBalancer": {}})
        lb = self.raw("POST", "/api/v1/namespaces/default/services", {
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "ipFamilyPolicy": "PreferDualStack",
                     "ports": [{"port": 80}, {"port": 443}]}})["spec"]
        self.assertEqual(lb["ipFamilies"], ["IPv4", "IPv6"])
        self.assertEqual([ipaddress.ip_address(ip).version for ip in lb["clusterIPs"]], [4, 6])
        node_ports = [p["nodePort"] for p in lb["ports"]]
        self.assertTrue(all(30000 <= p <= 32767 for p in node_ports))
        self.assertEqual(len(set(node_ports)), 2)
        self.assertEqual((lb["externalTrafficPolicy"], lb["allocateLoadBalancerNodePorts"]),
                         ("Cluster", True))
        stored = self.raw("GET", "/api/v1/namespaces/default/services/lb")
        del stored["spec"]["clusterIP"], stored["spec"]["clusterIPs"]
        for port in stored["spec"]["ports"]:
            del port["nodePort"]
        kept = self.raw("PUT", "/api/v1/namespaces/default/services/lb", stored)["spec"]
        self.assertEqual((kept["clusterIPs"], [p["nodePort"] for p in kept["ports"]]),
                         (lb["clusterIPs"], node_ports), "an update keeps what was allocated")
        self.assert_fails(422, "Invalid", self.core.patch_namespaced_service, "lb", "default",
                          {"spec": {"clusterIP": "10.96.0.250", "clusterIPs": ["10.96.0.250"]}})
        taken = service("taken")
        taken["spec"]["clusterIP"] = spec["clusterIP"]
        status = self.assert_fails(422, "Invalid", self.core.create_namespaced_service,
                                   "default", taken)
        self.assertIn("provided IP is already allocated", status["message"])
        self.core.delete_namespaced_service("plain", "default")
        self.assertEqual(self.core.create_namespaced_service("default", taken).spec.cluster_ip,
                         spec["clusterIP"], "a deleted Service's address is free again")
        single = service("single")
        single["spec"].update(ipFamilyPolicy="SingleStack", ipFamilies=["IPv4", "IPv6"])
        self.assert_fails(422, "Invalid", self.core.create_namespaced_service, "default", single)

    def test_a_refused_service_holds_no_address(self):
        server = ApiServer(self, "--service-cidrs", "10.96.0.0/30")
        core = kubernetes.client.CoreV1Api(server.client())
        first = core.create_namespaced_service("default", service("a", node_ports=False))
        with self.assertRaises(ApiException) as caught:
            core.create_namespaced_service("default", service("a", node_ports=False))
        self.assertEqual(caught.exception.status, 409)
        second = core.create_namespaced_service("default", service("b", node_ports=False))
        self.assertEqual({first.spec.cluster_ip, second.spec.cluster_ip},
                         {"10.96.0.1", "10.96.0.2"}, "the /30's two addresses")

    # -- status subresource, generation, patches

    def test_status_subresource_writes_only_status(self):
        body = service("web")
        body["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
        created = self.core.create_namespaced_service("default", body)
        self.assertFalse(created.status and created.status.load_balancer.ingress,
                         "create ignores status")
        ingress = {"loadBalancer": {"ingress": [{"ip": "198.19.0.1", "ipMode": "VIP"}]}}
        patched = self.core.patch_namespaced_service_status(
            "web", "default", {"status": ingress, "spec": {"ports": [{"port": 9}]}})
        self.assertEqual(patched.status.load_balancer.ingress[0].ip, "198.19.0.1")
        self.assertEqual([p.port for p in patched.spec.ports], [80],
                         "a status write leaves spec alone")
        main = self.raw("GET", "/api/v1/namespaces/default/services/web")
        main["status"] = {"loadBalancer": {}}
        main["metadata"]["labels"] = {"x": "y"}
        replaced = self.raw("PUT", "/api/v1/namespaces/default/services/web", main)
        self.assertEqual(replaced["status"], ingress, "a main write leaves status alone")
        self.assertEqual(replaced["metadata"]["labels"], {"x": "y"})
        stale = dict(replaced, status={"loadBalancer": {}})
        stale["metadata"] = dict(replaced["metadata"], resourceVersion=main["metadata"]
                                 ["resourceVersion"])
        self.assert_fails(409, "Conflict", self.core.replace_namespaced_service_status,
                          "web", "default", stale)

    def test_generation_counts_spec_changes_of_custom_resources(self):
        created = self.custom.create_cluster_custom_object(GROUP, VERSION, POOLS, pool("p"))
        self.assertEqual(created["metadata"]["generation"], 1)
        status = {"status": {"conditions": [{"type": "Ready", "status": "True",
                                             "observedGeneration": 1}]}}
        after_status = self.custom.patch_cluster_custom_object_status(GROUP, VERSION, POOLS,
                                                                      "p", status)
        self.assertEqual(after_status["metadata"]["generation"], 1)
        self.assertEqual(after_status["status"], status["status"])
        labelled = self.custom.patch_cluster_custom_object(
            GROUP, VERSION, POOLS, "p", {"metadata": {"labels": {"a": "b"}}})
        self.assertEqual(labelled["metadata"]["generation"], 1)
        respec = self.custom.patch_cluster_custom_object(
            GROUP, VERSION, POOLS, "p", {"spec": {"blocks": [{"cidr": "198.19.1.0/24"}]}})
        self.assertEqual(respec["metadata"]["generation"], 2)
        self.assertEqual(respec["status"], status["status"], "a spec write keeps status")

    def test_patch_content_types(self):
        self.core.create_namespaced_service("default", service("web"))
        path = "/api/v1/namespaces/default/services/web"
        merged = self.raw("PATCH", path, {"metadata": {"labels": {"a": "1"}}},
                          "application/merge-patch+json")
        self.assertEqual(merged["metadata"]["labels"], {"a": "1"})
        patched = self.core.patch_namespaced_service(
            "web", "default", [{"op": "add", "path": "/metadata/labels/b", "value": "2"}])
        self.assertEqual(patched.metadata.labels, {"a": "1", "b": "2"})
        strategic = self.core.patch_namespaced_service(
            "web", "default", {"spec": {"ports": [{"port": 443, "protocol": "TCP"}]}})
        self.assertEqual(sorted(p.port for p in strategic.spec.ports), [80, 443],
                         "strategic merge keys Service ports by port")
        replaced = self.raw("PATCH", path, {"spec": {"ports": [{"port": 8080}]}},
                            "application/merge-patch+json")
        self.assertEqual([p["port"] for p in replaced["spec"]["ports"]], [8080])
        self.assert_fails(409, "Conflict", self.core.patch_namespaced_service, "web", "default",
                          {"metadata": {"resourceVersion": "1", "labels": {"c": "3"}}})
        self.assert_fails(422, "Invalid", self.core.patch_namespaced_service, "web", "default",
                          [{"op": "test", "path": "/metadata/name", "value": "other"}])
        with self.assertRaises(ApiException) as caught:
            self.raw("PATCH", f"/apis/{GROUP}/{VERSION}/{POOLS}/p", {"spec": {}},
                     "application/strategic-merge-patch+json")
        self.assertEqual(caught.exception.status, 404)
        self.custom.create_cluster_custom_object(GROUP, VERSION, POOLS, pool("p"))
        with self.assertRaises(ApiException) as caught:
            self.raw("PATCH", f"/apis/{GROUP}/{VERSION}/{POOLS}/p", {"spec": {}},
                     "application/strategic-merge-patch+json")
        self.assertEqual(caught.exception.status, 415,
                         "custom resources take no strategic merge patch")

    def test_server_side_apply_merges_keyed_lists_and_owns_fields(self):
        path = f"/apis/{GROUP}/{VERSION}/{POOLS}/p"

        def apply(subresource, body, manager):
            return self.raw("PATCH", path + subresource, json.dumps(body),
                            "application/apply-patch+yaml", [("fieldManager", manager)])

        def status(conditions, **fields):
            return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LoadBalancerIPPool",
                    "metadata": {"name": "p"},
                    "status": dict(fields, conditions=[{"type": t, "status": "True"}
                                                       for t in conditions])}
        self.assertEqual(apply("", pool("p"), "ferry")["metadata"]["generation"], 1)
        apply("/status", status(["Ready"], ipv4={"free": "10"}), "ferry")
        applied = apply("/status", status(["Conflict"]), "other")
        self.assertEqual([c["type"] for c in applied["status"]["conditions"]],
                         ["Ready", "Conflict"], "conditions are a list keyed by type")
        applied = apply("/status", status(["Ready"]), "ferry")
        self.assertNotIn("ipv4", applied["status"],
                         "a field its manager no longer applies is removed")
        applied = apply("/status", status([]), "ferry")
        self.assertEqual([c["type"] for c in applied["status"]["conditions"]], ["Conflict"],
                         "another manager's conditions stay")
        with self.assertRaises(ApiException) as caught:
            self.raw("PATCH", path, json.dumps(pool("p")), "application/apply-patch+yaml")
        self.assertEqual(caught.exception.status, 400, "apply needs a fieldManager")

    def test_server_side_apply_keeps_a_dual_stack_nodes_addresses(self):
        # A Node's status.addresses is atomic under server-side apply (two
        # InternalIPs share a type), though strategic merge keys it by type.
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "dual"}}
        self.core.create_node(node)
        addresses = [{"type": "InternalIP", "address": "198.18.0.11"},
                     {"type": "InternalIP", "address": "2001:db8:0:1::11"}]
        applied = self.raw("PATCH", "/api/v1/nodes/dual/status",
                           json.dumps(dict(node, status={"addresses": addresses})),
                           "application/apply-patch+yaml", [("fieldManager", "test")])
        self.assertEqual(applied["status"]["addresses"], addresses)

    # -- lists

    def test_label_and_field_selectors(self):
        self.create_services(["a1", "a2"], {"app": "a", "tier": "front"})
        self.create_services(["b1"], {"app": "b"})
        self.create_services(["c1"], {})

        def names(**kwargs):
            return sorted(s.metadata.name for s in
                          self.core.list_namespaced_service("default", **kwargs).items)
        self.assertEqual(names(label_selector="app=a"), ["a1", "a2"])
        self.assertEqual(names(label_selector="app==b"), ["b1"])
        self.assertEqual(names(label_selector="app!=a"), ["b1", "c1"])
        self.assertEqual(names(label_selector="app in (a, b)"), ["a1", "a2", "b1"])
        self.assertEqual(names(label_selector="app notin (a)"), ["b1", "c1"])
        self.assertEqual(names(label_selector="tier"), ["a1", "a2"])
        self.assertEqual(names(label_selector="!tier"), ["b1", "c1"])
        self.assertEqual(names(label_selector="app=a,tier=front"), ["a1", "a2"])
        self.assertEqual(names(field_selector="metadata.name=b1"), ["b1"])
        self.assertEqual(names(field_selector="metadata.name!=b1,metadata.namespace=default"),
                         ["a1", "a2", "c1"])
        self.assert_fails(400, "BadRequest", self.core.list_namespaced_service, "default",
                          field_selector="spec.type=LoadBalancer")
        self.assert_fails(400, "BadRequest", self.core.list_namespaced_service, "default",
                          label_selector="app in a")

    def test_pagination_reads_one_consistent_snapshot(self):
        names = [f"svc-{i:02}" for i in range(25)]
        self.create_services(names)
        first = self.core.list_namespaced_service("default", limit=10)
        self.assertEqual(len(first.items), 10)
        self.assertTrue(first.metadata._continue)
        self.core.delete_namespaced_service("svc-20", "default")
        self.core.create_namespaced_service("default", service("svc-99"))
        self.core.patch_namespaced_service("svc-15", "default",
                                           {"metadata": {"labels": {"x": "y"}}})
        seen, page = [s.metadata.name for s in first.items], first
        while page.metadata._continue:
            page = self.core.list_namespaced_service("default", limit=10,
                                                     _continue=page.metadata._continue)
            self.assertEqual(page.metadata.resource_version, first.metadata.resource_version)
            seen += [s.metadata.name for s in page.items]
            if page.items and page.items[0].metadata.name == "svc-10":
                self.assertFalse(page.items[5].metadata.labels, "svc-15 as it was")
        self.assertEqual(seen, names, "later pages are the list as it was at the first")
        now = self.core.list_service_for_all_namespaces(limit=30)
        self.assertEqual(len(now.items), 25)
        self.assertIn("svc-99", [s.metadata.name for s in now.items])

    def test_remaining_item_count_and_list_shape(self):
        self.create_services([f"s{i}" for i in range(5)])
        page = self.raw("GET", "/api/v1/services", query=[("limit", "2")])
        self.assertEqual(page["kind"], "ServiceList")
        self.assertEqual(page["apiVersion"], "v1")
        self.assertEqual(page["metadata"]["remainingItemCount"], 3)
        self.assertEqual([s["metadata"]["name"] for s in page["items"]], ["s0", "s1"])

    def test_expired_continue_token_gets_410(self):
        self.create_services([f"s{i}" for i in range(5)])
        first = self.core.list_namespaced_service("default", limit=2)
        self.create_services(["later"])
        self.server.admin("POST", "/compact")
        status = self.assert_fails(410, "Expired", self.core.list_namespaced_service, "default",
                                   limit=2, _continue=first.metadata._continue)
        self.assertIn("continue parameter is too old", status["message"])

    def test_continue_token_expires_when_the_history_window_passes_it(self):
        server = ApiServer(self, "--history", "5")
        core = kubernetes.client.CoreV1Api(server.client())
        for i in range(3):
            core.create_namespaced_service("default", service(f"s{i}"))
        first = core.list_namespaced_service("default", limit=1)
        core.list_namespaced_service("default", limit=1, _continue=first.metadata._continue)
        for i in range(3, 9):
            core.create_namespaced_service("default", service(f"s{i}"))
        self.assert_fails(410, "Expired", core.list_namespaced_service, "default", limit=1,
                          _continue=first.metadata._continue)

    def test_list_at_an_exact_resource_version(self):
        a = self.create_services(["a"])[0]
        self.create_services(["b"])
        at_a = self.core.list_namespaced_service(
            "default", resource_version=a.metadata.resource_version,
            resource_version_match="Exact")
        self.assertEqual([s.metadata.name for s in at_a.items], ["a"])
        self.assertEqual(at_a.metadata.resource_version, a.metadata.resource_version)
        newest = self.core.list_namespaced_service(
            "default", resource_version=a.metadata.resource_version,
            resource_version_match="NotOlderThan")
        self.assertEqual(len(newest.items), 2)
        self.assert_fails(504, "Timeout", self.core.list_namespaced_service, "default",
                          resource_version="999999", resource_version_match="NotOlderThan")
        self.server.admin("POST", "/compact")
        self.assert_fails(410, "Expired", self.core.list_namespaced_service, "default",
                          resource_version=a.metadata.resource_version,
                          resource_version_match="Exact")

    # -- watches

    def test_watch_replays_changes_after_a_resource_version(self):
        a = self.create_services(["a"])[0]
        self.core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"v": "2"}}})
        self.create_services(["b"])
        self.core.delete_namespaced_service("a", "default")
        reader = WatchReader(self.core.list_namespaced_service, "default",
                             resource_version=a.metadata.resource_version, timeout_seconds=30)
        events = [reader.next() for _ in range(3)]
        self.assertEqual([(t, o["metadata"]["name"]) for t, o in events],
                         [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")])
        rvs = [int(o["metadata"]["resourceVersion"]) for _, o in events]
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(events[0][1]["metadata"]["labels"], {"v": "2"})
        self.create_services(["c"])
        self.assertEqual(reader.next()[0], "ADDED", "then live changes follow")

    def test_watch_without_resource_version_starts_with_the_objects(self):
        self.create_services(["a", "b"])
        reader = WatchReader(self.core.list_namespaced_service, "default", timeout_seconds=30)
        self.assertEqual(sorted(reader.next()[1]["metadata"]["name"] for _ in range(2)),
                         ["a", "b"])

    def test_watch_from_a_compacted_resource_version_gets_410(self):
        a = self.create_services(["a"])[0]
        self.create_services(["b"])
        self.server.admin("POST", "/compact")
        reader = WatchReader(self.core.list_namespaced_service, "default",
                             resource_version=a.metadata.resource_version, timeout_seconds=30)
        kind, err = reader.next()
        self.assertEqual(kind, "END")
        self.assertIsInstance(err, ApiException)
        self.assertEqual(err.status, 410)
        self.assertIn("too old resource version", err.reason)

    def test_410_arrives_as_an_error_event_in_a_200_stream(self):
        a = self.create_services(["a"])[0]
        self.create_services(["b"])
        self.server.admin("POST", "/compact")
        response = self.api.call_api(
            "/api/v1/namespaces/default/services", "GET",
            query_params=[("watch", "1"), ("resourceVersion", a.metadata.resource_version)],
            auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True)
        self.assertEqual(response.status, 200)
        lines = response.data.decode().splitlines()
        self.assertEqual(len(lines), 1)
        event = json.loads(lines[0])
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual((event["object"]["kind"], event["object"]["code"],
                          event["object"]["reason"]), ("Status", 410, "Expired"))

    def test_watch_sends_bookmarks_with_the_current_resource_version(self):
        created = self.create_services(["a"])[0]
        reader = WatchReader(self.core.list_namespaced_service, "default",
                             resource_version=created.metadata.resource_version,
                             allow_watch_bookmarks=True, timeout_seconds=30)
        kind, bookmark = reader.next()
        self.assertEqual(kind, "BOOKMARK")
        self.assertEqual(bookmark["kind"], "Service")
        self.assertEqual(bookmark["metadata"]["resourceVersion"],
                         created.metadata.resource_version)
        self.create_services(["b"])
        kind, added = reader.next_not_bookmark()
        self.assertEqual(kind, "ADDED")
        kind, bookmark = reader.next()
        self.assertEqual(kind, "BOOKMARK")
        self.assertEqual(bookmark["metadata"]["resourceVersion"],
                         added["metadata"]["resourceVersion"])

    def test_watch_with_initial_events_ends_them_with_a_bookmark(self):
        self.create_services(["a", "b"])
        response = self.api.call_api(
            "/api/v1/namespaces/default/services", "GET",
            query_params=[("watch", "1"), ("sendInitialEvents", "true"),
                          ("resourceVersionMatch", "NotOlderThan"),
                          ("allowWatchBookmarks", "true"), ("timeoutSeconds", "1")],
            auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True)
        events = [json.loads(line) for line in response.data.decode().splitlines()]
        self.assertEqual([(e["type"], e["object"]["metadata"].get("name")) for e in events[:3]],
                         [("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", None)])
        self.assertEqual(events[2]["object"]["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})
        self.assertTrue(all(e["type"] == "BOOKMARK" for e in events[3:]))
        self.assert_fails(422, "Invalid", self.raw, "GET", "/api/v1/namespaces/default/services",
                          query=[("watch", "1"), ("sendInitialEvents", "true")])

    def test_watch_ends_at_timeout_seconds(self):
        started = time.monotonic()
        reader = WatchReader(self.core.list_namespaced_service, "default", timeout_seconds=1)
        self.assertEqual(reader.next(), ("END", None))
        self.assertGreaterEqual(time.monotonic() - started, 1.0)

    def test_watch_selectors_turn_label_changes_into_added_and_deleted(self):
        first = self.create_services(["a"])[0]
        reader = WatchReader(self.core.list_namespaced_service, "default",
                             label_selector="app=web",
                             resource_version=first.metadata.resource_version,
                             timeout_seconds=30)
        self.core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"app": "web"}}})
        self.assertEqual(reader.next()[0], "ADDED")
        self.core.patch_namespaced_service("a", "default", {"metadata": {"labels": {"v": "1"}}})
        self.assertEqual(reader.next()[0], "MODIFIED")
        moved = self.core.patch_namespaced_service("a", "default",
                                                   {"metadata": {"labels": {"app": "db"}}})
        kind, obj = reader.next()
        self.assertEqual(kind, "DELETED")
        self.assertEqual(obj["metadata"]["resourceVersion"], moved.metadata.resource_version)
        field_reader = WatchReader(self.core.list_namespaced_service, "default",
                                   field_selector="metadata.name=b", timeout_seconds=30)
        self.create_services(["c", "b"])
        kind, obj = field_reader.next()
        self.assertEqual((kind, obj["metadata"]["name"]), ("ADDED", "b"))

    # -- other resources, auth

    def test_custom_resources_list_watch_and_status(self):
        reader = WatchReader(self.custom.list_cluster_custom_object, GROUP, VERSION, POOLS,
                             timeout_seconds=30)
        self.custom.create_cluster_custom_object(GROUP, VERSION, POOLS, pool("p"))
        kind, obj = reader.next()
        self.assertEqual((kind, obj["kind"], obj["apiVersion"]),
                         ("ADDED", "LoadBalancerIPPool", f"{GROUP}/{VERSION}"))
        self.custom.patch_cluster_custom_object_status(
            GROUP, VERSION, POOLS, "p", {"status": {"ipv4": {"free": "65536"}}})
        kind, obj = reader.next()
        self.assertEqual((kind, obj["status"]["ipv4"]["free"]), ("MODIFIED", "65536"))
        listed = self.custom.list_cluster_custom_object(GROUP, VERSION, POOLS)
        self.assertEqual(listed["kind"], "LoadBalancerIPPoolList")
        self.assertEqual([i["metadata"]["name"] for i in listed["items"]], ["p"])

    def test_bad_requests_get_a_status_naming_the_field(self):
        path = "/api/v1/namespaces/default/services"
        for body, code, field in (
                ({"metadata": {"name": "a", "labels": ["x"]}, "spec": {}}, 422,
                 "metadata.labels"),
                ({"metadata": {"name": "a"}, "spec": {"ports": {"port": 80}}}, 422, "spec.ports"),
                ({"metadata": {"name": "a"}, "spec": {"ports": [{"port": "80"}]}}, 422,
                 "spec.ports[0].port"),
                ({"metadata": {"name": "a"}}, 422, "spec")):
            with self.assertRaises(ApiException) as caught:
                self.raw("POST", path, body)
            status = status_of(caught.exception)
            self.assertEqual(status["code"], code, body)
            self.assertEqual(status["details"]["causes"][0]["field"], field)
        for query in ([("limit", "ten")], [("watch", "1"), ("timeoutSeconds", "-1")]):
            with self.assertRaises(ApiException) as caught:
                self.raw("GET", path, query=query)
            self.assertEqual(caught.exception.status, 400, query)
        self.assertEqual(self.core.list_namespaced_service("default").items, [],
                         "nothing was created")

    def test_an_invalid_crd_update_changes_nothing(self):
        crds = kubernetes.client.ApiextensionsV1Api(self.api)
        self.assert_fails(422, "Invalid", crds.patch_custom_resource_definition,
                          f"{POOLS}.{GROUP}", [{"op": "remove", "path": "/spec/names"}])
        self.custom.create_cluster_custom_object(GROUP, VERSION, POOLS, pool("p"))
        self.assertEqual(len(self.custom.list_cluster_custom_object(GROUP, VERSION, POOLS)
                             ["items"]), 1, "the CRD's resources are still served")

    def test_leases_endpointslices_nodes_secrets_and_events(self):
        leases = kubernetes.client.CoordinationV1Api(self.api)
        lease = leases.create_namespaced_lease("kube-node-lease", {
            "metadata": {"name": "node1"},
            "spec": {"holderIdentity": "node1", "leaseDurationSeconds": 40}})
        lease.spec.renew_time = "2026-01-01T00:00:00.000000Z"
        renewed = leases.replace_namespaced_lease("node1", "kube-node-lease", lease)
        self.assertEqual(renewed.spec.renew_time.year, 2026)
        self.assert_fails(409, "Conflict", leases.replace_namespaced_lease, "node1",
                          "kube-node-lease", lease)
        slices = kubernetes.client.DiscoveryV1Api(self.api)
        slices.create_namespaced_endpoint_slice("default", {
            "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["198.18.17.10"]}],
            "ports": [{"port": 8080, "protocol": "TCP"}]})
        listed = slices.list_namespaced_endpoint_slice(
            "default", label_selector="kubernetes.io/service-name=web")
        self.assertEqual(listed.items[0].endpoints[0].addresses, ["198.18.17.10"])
        self.core.create_node({"metadata": {"name": "node1"}})
        self.assertEqual(self.core.read_node("node1").metadata.name, "node1")
        self.core.create_namespaced_secret("default", {
            "metadata": {"name": "bgp"}, "type": "Opaque", "data": {"password": "c2VjcmV0"}})
        by_name = self.core.list_namespaced_secret("default", field_selector="metadata.name=bgp")
        self.assertEqual(by_name.items[0].data, {"password": "c2VjcmV0"})
        events = kubernetes.client.EventsV1Api(self.api)
        events.create_namespaced_event("default", {
            "metadata": {"name": "web.1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "ferry.dev/ferryd", "reportingInstance": "node1",
            "action": "Allocate", "reason": "IPAllocated", "type": "Normal",
            "regarding": {"kind": "Service", "name": "web", "namespace": "default"},
            "note": "198.19.0.1"})
        self.assertEqual(events.read_namespaced_event("web.1", "default").reason, "IPAllocated")

    def test_events_are_one_object_in_two_shapes(self):
        events = kubernetes.client.EventsV1Api(self.api)
        reader = WatchReader(self.core.list_namespaced_event, "default", timeout_seconds=30)
        created = events.create_namespaced_event("default", {
            "metadata": {"name": "web.1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "ferry.dev/ferryd", "reportingInstance": "node1",
            "action": "Allocate", "reason": "IPAllocated", "type": "Normal",
            "regarding": {"kind": "Service", "name": "web", "namespace": "default"},
            "note": "198.19.0.1", "deprecatedCount": 2})
        kind, core = reader.next()
        self.assertEqual(kind, "ADDED")
        self.assertEqual((core["apiVersion"], core["involvedObject"]["name"], core["message"],
                          core["reportingComponent"], core["count"]),
                         ("v1", "web", "198.19.0.1", "ferry.dev/ferryd", 2))
        self.assertEqual((core["metadata"]["uid"], core["metadata"]["resourceVersion"]),
                         (created.metadata.uid, created.metadata.resource_version))
        self.core.patch_namespaced_event("web.1", "default", {"message": "198.19.0.2"})
        self.assertEqual(events.read_namespaced_event("web.1", "default").note, "198.19.0.2")
        self.core.delete_namespaced_event("web.1", "default")
        self.assert_fails(404, "NotFound", events.read_namespaced_event, "web.1", "default")

    def test_deleting_a_namespace_deletes_its_objects(self):
        self.core.create_namespace({"metadata": {"name": "team"}})
        self.core.create_namespaced_service("team", service("web"))
        self.core.create_namespaced_service("default", service("web"))
        self.core.delete_namespace("team")
        self.assert_fails(404, "NotFound", self.core.read_namespaced_service, "web", "team")
        self.assertEqual(self.core.read_namespaced_service("web", "default").metadata.name, "web")

    def test_client_certificate_and_tokens(self):
        by_cert = kubernetes.client.CoreV1Api(self.server.client("cert"))
        self.assertTrue(by_cert.list_namespace().items)
        config = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=self.server.kubeconfig,
                                           client_configuration=config)
        config.api_key = {"authorization": "Bearer not-the-token"}
        bad = kubernetes.client.ApiClient(config)
        self.addCleanup(bad.close)
        status = self.assert_fails(401, "Unauthorized",
                                   kubernetes.client.CoreV1Api(bad).list_namespace)
        self.assertEqual(status["message"], "Unauthorized")
        config.api_key = {}
        self.assert_fails(401, "Unauthorized", kubernetes.client.CoreV1Api(bad).list_namespace)
        self.server.admin("POST", "/token?value=not-the-token")
        config.api_key = {"authorization": "Bearer not-the-token"}
        self.assertTrue(kubernetes.client.CoreV1Api(bad).list_namespace().items,
                        "a token the admin endpoint added is accepted")
        config.api_key = {"authorization": "bearer not-the-token"}
        self.assertTrue(kubernetes.client.CoreV1Api(bad).list_namespace().items,
                        "the scheme's case does not matter")
        self.server.admin("POST", "/token?value=rotated&replace=true")
        self.assert_fails(401, "Unauthorized", kubernetes.client.CoreV1Api(bad).list_namespace)
        self.assert_fails(401, "Unauthorized", self.core.list_namespace)


if __name__ == "__main__":
    unittest.main()
