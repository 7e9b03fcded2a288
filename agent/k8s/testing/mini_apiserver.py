#!/usr/bin/python3
"""A minimal stand-in for kube-apiserver, for agent/k8s's transport tests.

Only what the client's list and watch depend on: paged lists (limit and
continue), watches from a resourceVersion with bookmarks, 410 Gone for a
version older than the last compaction, a bearer token, TLS with HTTP/2
(hypercorn). Objects are written through /admin, which also injects
faults (stall or end the open watches, compact) and counts requests and the
connections open watches use. The state is kept in <state-dir>/state.json,
so a server started again on the same directory and port carries on.

Writes <state-dir>/{ca.crt,server.crt,server.key,token,kubeconfig} and,
once it accepts connections, <state-dir>/ready holding its port. Listens
on --address (127.0.0.1, or an address of a test's namespace); --load
creates the objects of YAML manifests at start.
"""

import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import subprocess
import urllib.parse

from hypercorn.asyncio import serve
from hypercorn.config import Config


class State:
    def __init__(self, path):
        self.path = path
        self.version = 1
        self.compacted = 0
        self.objects = {}  # collection path -> {"ns/name": object}
        self.history = []  # [version, type, collection, object]
        if os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
            self.__dict__.update(saved)
            self.path = path

    def save(self):
        saved = {k: v for k, v in self.__dict__.items() if k != "path"}
        with open(self.path + ".tmp", "w") as f:
            json.dump(saved, f)
        os.rename(self.path + ".tmp", self.path)

    def write(self, collection, kind, obj):
        self.version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.version)
        key = meta.get("namespace", "") + "/" + meta["name"]
        store = self.objects.setdefault(collection, {})
        if kind == "DELETED":
            store.pop(key, None)
        else:
            store[key] = obj
        self.history.append([self.version, kind, collection, obj])
        return obj


class Watcher:
    def __init__(self, path, client, http_version):
        self.queue = asyncio.Queue()
        self.stalled = False
        self.path = path
        self.client = client
        self.http_version = http_version


class Server:
    def __init__(self, state, token, bookmark_interval, client_certificates):
        self.state = state
        self.token = token
        self.client_certificates = client_certificates
        self.bookmark_interval = bookmark_interval
        self.watchers = set()
        self.stats = {"lists": {}, "watches": {}}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        query = dict(urllib.parse.parse_qsl(scope["query_string"].decode()))
        if path.startswith("/admin/"):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            return await self.admin(path, json.loads(body or b"{}"), send)
        headers = dict(scope["headers"])
        # With client certificates required, TLS has already proven who
        # the client is.
        if not self.client_certificates and \
                headers.get(b"authorization") != b"Bearer " + self.token.encode():
            return await self.reply(send, 401, status(401, "Unauthorized"))
        if query.get("watch") in ("1", "true"):
            return await self.watch(scope, path, query, receive, send)
        return await self.list(path, query, send)

    async def reply(self, send, code, body):
        await send({"type": "http.response.start", "status": code,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    def selected(self, obj, query):
        selector = query.get("fieldSelector", "")
        if not selector:
            return True
        field, _, value = selector.partition("=")
        return field == "metadata.name" and obj["metadata"]["name"] == value

    async def list(self, path, query, send):
        self.stats["lists"][path] = self.stats["lists"].get(path, 0) + 1
        limit = int(query.get("limit", "0")) or 1 << 30
        after, version = "", str(self.state.version)
        if query.get("continue"):
            token = json.loads(base64.b64decode(query["continue"]))
            after, version = token["after"], token["version"]
            if int(version) < self.state.compacted:
                return await self.reply(send, 410, status(410, "the continue token expired"))
        store = self.state.objects.get(path, {})
        keys = sorted(k for k in store if k > after and self.selected(store[k], query))
        items = [store[k] for k in keys[:limit]]
        meta = {"resourceVersion": version}
        if len(keys) > limit:
            meta["continue"] = base64.b64encode(json.dumps(
                {"after": keys[limit - 1], "version": version}).encode()).decode()
        await self.reply(send, 200, {"kind": "List", "apiVersion": "v1", "metadata": meta,
                                     "items": items})

    async def watch(self, scope, path, query, receive, send):
        self.stats["watches"][path] = self.stats["watches"].get(path, 0) + 1
        since = int(query.get("resourceVersion") or 0)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        watcher = Watcher(path, "%s:%d" % tuple(scope["client"]), scope["http_version"])
        if since and since < self.state.compacted:
            watcher.queue.put_nowait(gone())
            watcher.queue.put_nowait(None)
        else:
            for version, kind, collection, obj in self.state.history:
                if version > since and collection == path and self.selected(obj, query):
                    watcher.queue.put_nowait({"type": kind, "object": obj})
        self.watchers.add(watcher)
        timeout = asyncio.get_running_loop().time() + int(query.get("timeoutSeconds", "300"))

        async def disconnected():
            while (await receive())["type"] != "http.disconnect":
                pass

        gone_task = asyncio.ensure_future(disconnected())
        try:
            while not gone_task.done():
                left = timeout - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    event = await asyncio.wait_for(watcher.queue.get(),
                                                   min(left, self.bookmark_interval))
                except asyncio.TimeoutError:
                    if watcher.stalled:
                        continue
                    event = {"type": "BOOKMARK", "object": {
                        "metadata": {"resourceVersion": str(self.state.version)}}}
                if event is None:
                    break
                if watcher.stalled:
                    continue
                if event["type"] != "BOOKMARK" and not self.selected(event["object"], query):
                    continue
                await send({"type": "http.response.body", "more_body": True,
                            "body": json.dumps(event).encode() + b"\n"})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone_task.cancel()
            self.watchers.discard(watcher)

    async def admin(self, path, body, send):
        if path == "/admin/put":
            for obj in body["objects"]:
                collection = body["path"]
                key = obj["metadata"].get("namespace", "") + "/" + obj["metadata"]["name"]
                kind = "MODIFIED" if key in self.state.objects.get(collection, {}) else "ADDED"
                self.publish(collection, kind, self.state.write(collection, kind, obj))
        elif path == "/admin/delete":
            collection = body["path"]
            store = self.state.objects.get(collection, {})
            obj = store[body["namespace"] + "/" + body["name"]]
            self.publish(collection, "DELETED", self.state.write(collection, "DELETED", obj))
        elif path == "/admin/stall":
            for watcher in self.watchers:
                watcher.stalled = True
        elif path == "/admin/compact":
            # Every version so far is forgotten; open watches end with 410.
            self.state.compacted = self.state.version
            self.state.history = []
            for watcher in self.watchers:
                watcher.stalled = False
                watcher.queue.put_nowait(gone())
                watcher.queue.put_nowait(None)
        elif path == "/admin/stats":
            open_watches = [{k: getattr(w, k) for k in ("path", "client", "http_version", "stalled")}
                            for w in self.watchers]
            return await self.reply(send, 200, dict(
                self.stats, open=open_watches,
                connections=len({w["client"] for w in open_watches})))
        self.state.save()
        await self.reply(send, 200, {"version": self.state.version})

    def publish(self, collection, kind, obj):
        for watcher in self.watchers:
            if watcher.path == collection:
                watcher.queue.put_nowait({"type": kind, "object": obj})


def status(code, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "message": message}


def gone():
    return {"type": "ERROR", "object": status(410, "too old resource version")}


# Where `--load` puts each kind.
COLLECTIONS = {
    "Service": "/api/v1/services",
    "EndpointSlice": "/apis/discovery.k8s.io/v1/endpointslices",
    "Node": "/api/v1/nodes",
    "LoadBalancerIPPool": "/apis/ferry.dev/v1alpha1/loadbalancerippools",
    "L2AnnouncementPolicy": "/apis/ferry.dev/v1alpha1/l2announcementpolicies",
    "BGPPeer": "/apis/ferry.dev/v1alpha1/bgppeers",
    "BGPAdvertisement": "/apis/ferry.dev/v1alpha1/bgpadvertisements",
}


def load(state, files):
    import yaml  # only --load needs it
    for name in files:
        with open(name) as f:
            for obj in yaml.safe_load_all(f):
                if obj:
                    state.write(COLLECTIONS[obj["kind"]], "ADDED", obj)
    state.save()


def credentials(directory, address):
    if os.path.exists(os.path.join(directory, "server.crt")):
        return
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, cwd=directory)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-ca")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={address}")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write(f"subjectAltName=IP:{address}\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=ferryd/O=ferry")
    run("openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "client.crt", "-days", "2")
    with open(os.path.join(directory, "token"), "w") as f:
        f.write(base64.b16encode(os.urandom(16)).decode().lower() + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bookmark-interval", type=float, default=1.0)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--load", nargs="*", default=[],
                        help="YAML manifests to create at start")
    parser.add_argument("--client-certificates", action="store_true",
                        help="require a client certificate the CA signed instead of the token; "
                        "the kubeconfig then carries it inline (client-certificate-data)")
    args = parser.parse_args()
    directory = args.state_dir
    credentials(directory, args.address)
    with open(os.path.join(directory, "token")) as f:
        token = f.read().strip()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.address, args.port))
    listener.listen(128)
    port = listener.getsockname()[1]
    def inline(name):
        with open(os.path.join(directory, name), "rb") as f:
            return base64.b64encode(f.read()).decode()

    user = (f"    client-certificate-data: {inline('client.crt')}\n"
            f"    client-key-data: {inline('client.key')}" if args.client_certificates
            else "    tokenFile: token")
    with open(os.path.join(directory, "kubeconfig"), "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {{cluster: test, user: test}}
clusters:
- name: test
  cluster:
    server: https://{args.address}:{port}
    certificate-authority: ca.crt
users:
- name: test
  user:
{user}
""")
    config = Config()
    config.bind = [f"fd://{listener.fileno()}"]
    config.certfile = os.path.join(directory, "server.crt")
    config.keyfile = os.path.join(directory, "server.key")
    config.keep_alive_timeout = 3600
    config.accesslog = None
    if args.client_certificates:
        config.ca_certs = os.path.join(directory, "ca.crt")
        config.verify_mode = ssl.CERT_REQUIRED
    state = State(os.path.join(directory, "state.json"))
    load(state, args.load)
    server = Server(state, token, args.bookmark_interval, args.client_certificates)

    async def run():
        with open(os.path.join(directory, "ready.tmp"), "w") as f:
            f.write(str(port))
        os.rename(os.path.join(directory, "ready.tmp"), os.path.join(directory, "ready"))
        await serve(server, config)

    asyncio.run(run())


if __name__ == "__main__":
    main()
