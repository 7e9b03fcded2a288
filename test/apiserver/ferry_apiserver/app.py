"""The ASGI applications: the API (authentication, per-connection accounting, watch
streams) and the admin endpoint (faults and statistics)."""

import asyncio
import collections
import dataclasses
import hmac
import json
import traceback
import urllib.parse

from hypercorn.utils import parse_socket_addr

from .api import Request, query_flag, query_int
from .constants import MAX_BODY_BYTES, OPENAPI_V2_PROTOBUF, SERVER_VERSION
from .errors import ApiError, bad_request
from .tables import as_table, wants_table


@dataclasses.dataclass
class Connection:
    peer: tuple
    protocol: str            # "h2" or "http/1.1"
    transport: object
    cert_user: str = None    # the verified client certificate's CN
    open_streams: int = 0
    open_watches: int = 0
    max_open_streams: int = 0
    max_open_watches: int = 0
    requests: int = 0


class Registry:
    """Open TCP connections of one listener, by the peer address ASGI
    scopes carry, so requests can be counted per connection and protocol."""

    def __init__(self):
        self.connections = {}
        self.accepted = 0

    def opened(self, writer):
        sock = writer.get_extra_info("socket")
        ssl_object = writer.get_extra_info("ssl_object")
        protocol = (ssl_object.selected_alpn_protocol() if ssl_object else None) or "http/1.1"
        cert = ssl_object.getpeercert() if ssl_object else None
        cert_user = None
        if cert:
            cert_user = next((v for rdn in cert.get("subject", ()) for k, v in rdn
                              if k == "commonName"), "")
        conn = Connection(parse_socket_addr(sock.family, sock.getpeername()), protocol,
                          writer.transport, cert_user)
        self.connections[conn.peer] = conn
        self.accepted += 1
        return conn

    def closed(self, conn):
        self.connections.pop(conn.peer, None)

    def drop_all(self):
        for conn in list(self.connections.values()):
            conn.transport.abort()

    def stats(self):
        rows = [{"peer": f"{c.peer[0]}:{c.peer[1]}", "protocol": c.protocol,
                 "openStreams": c.open_streams, "openWatches": c.open_watches,
                 "maxOpenStreams": c.max_open_streams, "maxOpenWatches": c.max_open_watches,
                 "requests": c.requests, "user": c.cert_user}
                for c in self.connections.values()]
        by_protocol = {}
        for row in rows:
            p = by_protocol.setdefault(row["protocol"], {"connections": 0, "openStreams": 0,
                                                         "openWatches": 0})
            p["connections"] += 1
            p["openStreams"] += row["openStreams"]
            p["openWatches"] += row["openWatches"]
        return {"openConnections": len(rows), "acceptedConnections": self.accepted,
                "byProtocol": by_protocol, "connections": rows}


async def read_body(receive):
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLarge", "the request is too large")
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_json(send, code, body):
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"cache-control", b"no-cache, private")]})
    await send({"type": "http.response.body", "body": payload})


class ApiApp:
    """The ASGI application of the API listener: authentication, per
    connection accounting, then the Api's handlers and watch streams."""

    def __init__(self, api, registry, options):
        self.api, self.registry, self.options = api, registry, options
        self.tokens = {options.token}
        self.response_delay = 0.0
        # Collection GETs by request path: a client's resync shows as a list,
        # its resume as a watch.
        self.lists = collections.Counter()
        self.watches_started = collections.Counter()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        conn = self.registry.connections.get(tuple(scope["client"] or ()))
        if conn:
            conn.requests += 1
            conn.open_streams += 1
            conn.max_open_streams = max(conn.max_open_streams, conn.open_streams)
        try:
            await self.serve(scope, receive, send, conn)
        finally:
            if conn:
                conn.open_streams -= 1

    def authenticated(self, request, conn):
        """kube's union of authenticators: a verified client certificate,
        else a bearer token (the scheme's case does not matter)."""
        if conn and conn.cert_user:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and any(
            hmac.compare_digest(token.strip(), t) for t in self.tokens)

    async def serve(self, scope, receive, send, conn):
        try:
            body = await read_body(receive)
            if body is None:
                return
            request = Request(scope, body)
            request.path = request.path.rstrip("/") or "/"
            if not self.authenticated(request, conn):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if self.response_delay and not query_flag(request.query, "watch"):
                await asyncio.sleep(self.response_delay)
            if request.path in ("/healthz", "/livez", "/readyz"):
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"ok"})
                return
            if request.path == "/version":
                await send_json(send, 200, SERVER_VERSION)
                return
            if request.path == "/openapi/v2":
                # kubectl downloads this (protobuf only) before it creates
                # anything; an empty Document holds no schema, so it
                # validates nothing client side. No /openapi/v3: kubectl
                # then takes patch strategies from its compiled-in types.
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", OPENAPI_V2_PROTOBUF)]})
                await send({"type": "http.response.body", "body": b""})
                return
            kind, value = self.api.route(request.path)
            if kind == "discovery":
                if request.method != "GET":
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this "
                                   "method on the requested resource")
                await send_json(send, 200, value)
                return
            await self.resource(value, request, receive, send, conn)
        except ApiError as err:
            await send_json(send, err.code, err.status())
        except Exception as err:  # a bug here: say so, as kube does, and log it
            traceback.print_exc()
            await send_json(send, 500, ApiError(500, "InternalError",
                                                f"an error on the server: {err!r}").status())

    async def resource(self, target, request, receive, send, conn):
        api, method = self.api, request.method
        collection = not target.name
        if method == "GET" and query_flag(request.query, "watch"):
            if not collection:
                raise bad_request("watch of a single object: use a fieldSelector "
                                  "on metadata.name")
            self.watches_started[request.path] += 1
            watcher = api.open_watch(target, request)
            await self.stream_watch(watcher, request, receive, send, conn)
            return
        if method == "GET" and collection:
            self.lists[request.path] += 1
        if method == "GET":
            code, body = api.list(target, request) if collection else \
                (200, api.store.get(target.res, target.namespace, target.name))
            if wants_table(request) and not target.subresource:
                items = body["items"] if collection else [body]
                rv = body["metadata"]["resourceVersion"]
                table = as_table(api.store, target.res, items, rv,
                                 request.query.get("includeObject", "Metadata"))
                if collection and body["metadata"].get("continue"):
                    table["metadata"]["continue"] = body["metadata"]["continue"]
                body = table
        elif method == "POST" and collection and not target.subresource:
            code, body = api.create(target, request)
        elif method == "PUT" and not collection:
            code, body = api.replace(target, request)
        elif method == "PATCH" and not collection:
            code, body = api.patch(target, request)
        elif method == "DELETE" and not collection and not target.subresource:
            code, body = api.delete(target, request)
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method "
                           "on the requested resource")
        await send_json(send, code, body)

    async def stream_watch(self, watcher, request, receive, send, conn):
        store, loop = self.api.store, asyncio.get_running_loop()
        res = watcher.res
        timeout = query_int(request.query, "timeoutSeconds", 0) or self.options.watch_timeout
        deadline = loop.time() + timeout
        bookmarks = query_flag(request.query, "allowWatchBookmarks")
        table = wants_table(request)
        include = request.query.get("includeObject", "Metadata")
        interval = self.options.bookmark_interval
        next_bookmark = loop.time() + interval

        async def wait_disconnect():
            while (await receive())["type"] != "http.disconnect":
                pass
            watcher.close("client went away")

        listener = asyncio.ensure_future(wait_disconnect())
        if conn:
            conn.open_watches += 1
            conn.max_open_watches = max(conn.max_open_watches, conn.open_watches)
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"cache-control", b"no-cache, private")]})
            # hypercorn holds the headers until the first body bytes; a
            # client must see the watch start (kube flushes at once).
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            while True:
                now = loop.time()
                if watcher.closed or (not store.stalled and now >= deadline):
                    break
                if not store.stalled and watcher.events:
                    batch = []
                    while watcher.events and len(batch) < 256:
                        kind, obj = watcher.events.popleft()
                        if table and kind in ("ADDED", "MODIFIED", "DELETED"):
                            obj = as_table(store, res, [obj], obj["metadata"]["resourceVersion"],
                                           include)
                        batch.append(json.dumps({"type": kind, "object": obj},
                                                separators=(",", ":")))
                    await send({"type": "http.response.body", "more_body": True,
                                "body": ("\n".join(batch) + "\n").encode()})
                    if watcher.close_after_drain and not watcher.events:
                        break
                    continue
                if not store.stalled and bookmarks and now >= next_bookmark:
                    bookmark = {"kind": res.kind, "apiVersion": res.api_version,
                                "metadata": {"resourceVersion": str(store.rv)}}
                    await send({"type": "http.response.body", "more_body": True,
                                "body": json.dumps({"type": "BOOKMARK", "object": bookmark},
                                                   separators=(",", ":")).encode() + b"\n"})
                    next_bookmark = now + interval
                    continue
                wake_at = None if store.stalled else \
                    min(deadline, next_bookmark) if bookmarks else deadline
                watcher.wake.clear()
                try:
                    await asyncio.wait_for(watcher.wake.wait(),
                                           None if wake_at is None else max(0, wake_at - now))
                except asyncio.TimeoutError:
                    pass
            if watcher.closed != "client went away":
                await send({"type": "http.response.body", "body": b""})
        finally:
            listener.cancel()
            store.watchers.discard(watcher)
            if conn:
                conn.open_watches -= 1


class AdminApp:
    """Fault injection and statistics, plain HTTP on loopback, no auth.

    POST /compact             forget the history: older resourceVersions get 410
    POST /close-watches       end every watch stream
    POST /stall, /unstall     hold watch streams open without sending anything
    POST /down[?seconds=N]    stop listening and drop every connection (state is
                              kept); back after N seconds, or at POST /up
    POST /up
    POST /delay?seconds=N     answer every non-watch request N seconds late
    POST /token?value=T[&replace=true]
                              accept bearer token T as well (or only T)
    POST /concurrent-writes?count=N[&subresource=status]
                              the next N PUTs or PATCHes (to the main resource
                              or the status subresource) find their object
                              changed by another writer just before: those
                              that carry a resourceVersion get 409 Conflict
    GET  /stats               connections, streams and watches per connection;
                              lists and watches started per request path
    """

    def __init__(self, server):
        self.server = server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        await read_body(receive)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(scope["query_string"].decode())
                 .items()}
        server, store = self.server, self.server.store
        action = (scope["method"], scope["path"])
        if action == ("GET", "/stats"):
            body = dict(server.registry.stats(), resourceVersion=store.rv,
                        compactedResourceVersion=store.compacted_rv,
                        watches=len(store.watchers), stalled=store.stalled,
                        queuedEvents=sum(len(w.events) for w in store.watchers),
                        listening=server.api_listener.listening,
                        lists=dict(server.api_app.lists),
                        watchesStarted=dict(server.api_app.watches_started))
        elif action == ("POST", "/compact"):
            body = {"compactedResourceVersion": store.compact()}
        elif action == ("POST", "/close-watches"):
            body = {"closed": store.close_watches("closed by the admin endpoint")}
        elif action in (("POST", "/stall"), ("POST", "/unstall")):
            store.set_stalled(scope["path"] == "/stall")
            body = {"stalled": store.stalled}
        elif action == ("POST", "/down"):
            await server.api_listener.stop()
            if query.get("seconds"):
                asyncio.get_running_loop().call_later(
                    float(query["seconds"]), lambda: asyncio.ensure_future(
                        server.api_listener.start()))
            body = {"listening": False}
        elif action == ("POST", "/up"):
            await server.api_listener.start()
            body = {"listening": True}
        elif action == ("POST", "/delay"):
            server.api_app.response_delay = float(query.get("seconds", "0"))
            body = {"delaySeconds": server.api_app.response_delay}
        elif action == ("POST", "/token") and query.get("value"):
            if query_flag(query, "replace"):
                server.api_app.tokens.clear()
            server.api_app.tokens.add(query["value"])
            body = {"tokens": len(server.api_app.tokens)}
        elif action == ("POST", "/concurrent-writes"):
            subresource = query.get("subresource", "")
            server.api.concurrent_writes[subresource] = int(query.get("count", "1"))
            body = {"concurrentWrites": dict(server.api.concurrent_writes)}
        else:
            await send_json(send, 404, {"error": f"no admin action {scope['method']} "
                                                 f"{scope['path']}"})
            return
        await send_json(send, 200, body)
