"""How fast the test API server answers at Ferry's bench scale (10,000
Services), measured with python3-kubernetes. The Services take no node
ports: 10,000 would not fit in kube's node port range either."""

import concurrent.futures
import json
import time
import unittest

import kubernetes

from harness import ApiServer, service

SERVICES = 10_000
PAGE = 500
WRITERS = 4


class BenchTest(unittest.TestCase):
    def test_list_10000_services_in_pages_of_500(self):
        server = ApiServer(self, crds=False)
        clients = [kubernetes.client.CoreV1Api(server.client()) for _ in range(WRITERS)]
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(lambda i: clients[i % WRITERS].create_namespaced_service(
                "default", service(f"svc-{i:05}", node_ports=False)), range(SERVICES)))
        created = time.monotonic() - started

        core = clients[0]
        started = time.monotonic()
        names, pages, token = [], 0, None
        while True:
            page = core.list_namespaced_service("default", limit=PAGE, _continue=token)
            names += [s.metadata.name for s in page.items]
            pages += 1
            token = page.metadata._continue
            if not token:
                break
        listed = time.monotonic() - started
        self.assertEqual(names, [f"svc-{i:05}" for i in range(SERVICES)])
        self.assertEqual(pages, SERVICES // PAGE)

        started = time.monotonic()
        token, raw_pages = None, 0
        while True:
            response = core.list_namespaced_service("default", limit=PAGE, _continue=token,
                                                    _preload_content=False)
            token = json.loads(response.data)["metadata"].get("continue")
            raw_pages += 1
            if not token:
                break
        listed_raw = time.monotonic() - started
        self.assertEqual(raw_pages, pages)
        with open(f"/proc/{server.proc.pid}/status") as f:
            rss_mib = next(int(line.split()[1]) for line in f
                           if line.startswith("VmRSS:")) / 1024
        print(f"\n{SERVICES} Services created in {created:.1f} s by {WRITERS} writers "
              f"({SERVICES / created:.0f}/s); listed in {pages} pages of {PAGE} in "
              f"{listed:.2f} s with python3-kubernetes' models, {listed_raw:.2f} s as JSON; "
              f"server RSS {rss_mib:.0f} MiB")


if __name__ == "__main__":
    unittest.main()
