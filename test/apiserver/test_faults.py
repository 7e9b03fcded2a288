"""The admin endpoint's faults and statistics, seen by independent clients
(python3-kubernetes over HTTP/1.1, curl over HTTP/2)."""

import os
import shutil
import time
import unittest

import kubernetes

from harness import WAIT_TIMEOUT, ApiServer, WatchReader, service, wait_for

CONCURRENT_WATCHES = 100  # curl's default limit of streams per HTTP/2 connection


class FaultTest(unittest.TestCase):
    def start(self, *args):
        self.server = ApiServer(self, *args)
        self.api = self.server.client()
        self.core = kubernetes.client.CoreV1Api(self.api)

    def watch(self, **kwargs):
        return WatchReader(self.core.list_namespaced_service, "default",
                           timeout_seconds=120, **kwargs)

    def create_and_watch(self, name):
        """Creates Service `name` and watches from it, once the watch is open."""
        created = self.core.create_namespaced_service("default", service(name))
        reader = self.watch(resource_version=created.metadata.resource_version)
        self.wait_for_watches(1)
        return created, reader

    def wait_for_watches(self, count):
        wait_for(lambda: self.server.admin("GET", "/stats")["watches"] == count,
                 f"{count} open watches")

    def test_close_watches_ends_every_stream(self):
        self.start()
        readers = [self.watch(), self.watch()]
        self.wait_for_watches(2)
        self.assertEqual(self.server.admin("POST", "/close-watches")["closed"], 2)
        for reader in readers:
            self.assertEqual(reader.next(), ("END", None))
        self.wait_for_watches(0)

    def test_stall_holds_events_until_unstalled(self):
        self.start()
        _, reader = self.create_and_watch("a")
        self.server.admin("POST", "/stall")
        self.core.create_namespaced_service("default", service("b"))
        wait_for(lambda: self.server.admin("GET", "/stats")["queuedEvents"] == 1,
                 "the server to hold the event")
        self.assertTrue(reader.events.empty(), "a stalled stream sends nothing")
        self.server.admin("POST", "/unstall")
        kind, obj = reader.next()
        self.assertEqual((kind, obj["metadata"]["name"]), ("ADDED", "b"))

    def test_a_watcher_that_falls_behind_is_closed(self):
        self.start("--watch-queue", "3")
        reader = self.watch(resource_version="0")
        self.wait_for_watches(1)
        self.server.admin("POST", "/stall")
        for name in ("a", "b", "c", "d"):
            self.core.create_namespaced_service("default", service(name))
        self.wait_for_watches(0)
        self.assertEqual(reader.next(), ("END", None))
        self.server.admin("POST", "/unstall")

    def test_down_drops_connections_and_up_serves_the_same_state(self):
        self.start()
        created, reader = self.create_and_watch("web")
        self.server.admin("POST", "/down")
        self.assertEqual(reader.next()[0], "END")
        wait_for(lambda: self.server.admin("GET", "/stats")["openConnections"] == 0,
                 "the server to drop every connection")
        self.assertFalse(self.server.admin("GET", "/stats")["listening"])
        offline = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=self.server.kubeconfig,
                                           client_configuration=offline)
        offline.retries = False
        offline_api = kubernetes.client.ApiClient(offline)
        self.addCleanup(offline_api.close)
        with self.assertRaises(Exception) as caught:
            kubernetes.client.CoreV1Api(offline_api).read_namespaced_service("web", "default")
        self.assertIn("Connection refused", str(caught.exception))
        self.server.admin("POST", "/up")
        again = self.core.read_namespaced_service("web", "default")
        self.assertEqual(again.metadata.resource_version, created.metadata.resource_version)
        self.server.admin("POST", "/down?seconds=0.5")
        wait_for(lambda: self.server.admin("GET", "/stats")["listening"],
                 "the listener to come back by itself")
        self.assertEqual(self.core.read_namespaced_service("web", "default").metadata.uid,
                         created.metadata.uid)

    def test_concurrent_writes_make_preconditioned_writes_conflict(self):
        self.start()
        read = self.core.create_namespaced_service("default", service("web"))
        self.server.admin("POST", "/concurrent-writes?count=1&subresource=status")
        read.status = {"loadBalancer": {"ingress": [{"ip": "198.19.0.1"}]}}
        with self.assertRaises(kubernetes.client.ApiException) as caught:
            self.core.replace_namespaced_service_status("web", "default", read)
        self.assertEqual(caught.exception.status, 409)
        fresh = self.core.read_namespaced_service("web", "default")
        self.assertIn("test.ferry.dev/concurrent-write", fresh.metadata.annotations)
        fresh.status = read.status
        written = self.core.replace_namespaced_service_status("web", "default", fresh)
        self.assertEqual(written.status.load_balancer.ingress[0].ip, "198.19.0.1")
        self.server.admin("POST", "/concurrent-writes?count=1")
        patched = self.core.patch_namespaced_service("web", "default",
                                                     {"metadata": {"labels": {"a": "b"}}})
        self.assertEqual(patched.metadata.labels, {"a": "b"},
                         "a write without a precondition applies to the newer object")
        self.assertGreater(int(patched.metadata.resource_version),
                           int(written.metadata.resource_version) + 1)

    def test_delay_slows_every_answer_but_watches(self):
        self.start()
        self.server.admin("POST", "/delay?seconds=1")
        started = time.monotonic()
        self.core.list_namespaced_service("default")
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.server.admin("POST", "/delay?seconds=0")

    def test_a_watch_answers_before_its_first_event(self):
        """Headers come at once, not with the first event or bookmark (60 s
        away here): a client must know its watch started."""
        self.start()
        current = self.core.list_namespaced_service("default").metadata.resource_version
        response = self.api.call_api(
            "/api/v1/namespaces/default/services", "GET",
            query_params=[("watch", "1"), ("resourceVersion", current)],
            auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True, _request_timeout=(WAIT_TIMEOUT, WAIT_TIMEOUT))
        self.addCleanup(response.release_conn)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers["content-type"], "application/json")

    def test_lists_and_watches_are_counted_per_path(self):
        self.start()
        self.core.create_namespaced_service("default", service("a"))
        self.core.read_namespaced_service("a", "default")  # an object, not a list
        self.core.list_namespaced_service("default")
        self.core.list_namespaced_service("default", limit=1)
        self.core.list_service_for_all_namespaces()
        self.watch()
        self.wait_for_watches(1)
        stats = self.server.admin("GET", "/stats")
        self.assertEqual(stats["lists"], {"/api/v1/namespaces/default/services": 2,
                                          "/api/v1/services": 1})
        self.assertEqual(stats["watchesStarted"], {"/api/v1/namespaces/default/services": 1})

    def test_http11_streams_are_counted_per_connection(self):
        self.start()
        self.watch()
        self.wait_for_watches(1)
        stats = self.server.admin("GET", "/stats")
        watching = [c for c in stats["connections"] if c["openWatches"]]
        self.assertEqual(len(watching), 1)
        self.assertEqual(watching[0]["protocol"], "http/1.1")
        self.assertEqual(stats["byProtocol"]["http/1.1"]["openWatches"], 1)

    def test_watches_share_one_http2_connection(self):
        """curl multiplexes its parallel transfers on one HTTP/2 connection;
        the server must count them as streams of that one connection."""
        curl = shutil.which("curl")
        self.assertIsNotNone(curl, "curl is needed: run scripts/install-deps")
        self.start()
        token = self.server.read("token")
        urls = [f"{self.server.url}/api/v1/namespaces/default/services?watch=1&"
                f"timeoutSeconds=120&labelSelector=n%3D{i}" for i in range(CONCURRENT_WATCHES)]
        proc, _ = self.server.popen(
            [curl, "-sS", "--http2", "--parallel", "--parallel-max", str(CONCURRENT_WATCHES),
             "--cacert", os.path.join(self.server.state, "ca.crt"),
             "-H", f"Authorization: Bearer {token}"] +
            [arg for url in urls for arg in ("-o", "/dev/null", url)])
        self.wait_for_watches(CONCURRENT_WATCHES)
        stats = self.server.admin("GET", "/stats")
        self.assertEqual(stats["openConnections"], 1, stats)
        conn = stats["connections"][0]
        self.assertEqual((conn["protocol"], conn["openWatches"]), ("h2", CONCURRENT_WATCHES))
        print(f"\none HTTP/2 connection carried {conn['maxOpenWatches']} concurrent watches")
        self.server.admin("POST", "/close-watches")
        self.assertEqual(proc.wait(60), 0)


if __name__ == "__main__":
    unittest.main()
