"""Listeners (hypercorn's per-connection protocol under our accept loop) and main."""

import argparse
import asyncio
import os
import re
import signal
import socket
import ssl

import yaml
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.events import Closed

from .api import Api, crd_status
from .app import AdminApp, ApiApp, Registry
from .catalogue import CRD_RESOURCE, Catalogue
from .certs import kubeconfig, make_credentials, write_atomically
from .errors import ApiError
from .services import ServiceAdmission
from .store import Store


class PeerClosingTCPServer(TCPServer):
    """hypercorn 0.13's TCPServer tells the protocol nothing when the peer
    closes cleanly: its streams never see http.disconnect, so a watch would
    outlive its client. Closing twice is harmless (h11 and h2 both check)."""

    async def _read_data(self):
        await super()._read_data()
        await self.protocol.handle(Closed())


class Listener:
    """One listening socket served by hypercorn's per-connection protocol
    (TCPServer). The accept loop is ours, not hypercorn.serve's, so that the
    admin endpoint can stop listening, drop connections and listen again on
    the same port, and so that each connection is known by peer address."""

    def __init__(self, host, port, app, ssl_context, config, registry):
        self.host, self.port, self.app = host, port, app
        self.ssl_context, self.config, self.registry = ssl_context, config, registry
        self.context = WorkerContext()
        self.server = None
        # asyncio holds connection tasks weakly: a task waiting on its peer
        # would otherwise be collected mid-connection.
        self.tasks = set()

    @property
    def listening(self):
        return self.server is not None

    async def start(self):
        if self.server:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family, backlog=1024)
        self.port = sock.getsockname()[1]
        self.server = await asyncio.start_server(self.on_connection, sock=sock,
                                                 ssl=self.ssl_context)

    async def stop(self):
        if self.server:
            self.server.close()
            self.server = None
        self.registry.drop_all()

    async def on_connection(self, reader, writer):
        # asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP,
        # not on those create_server makes: without it each response waits
        # ~40 ms for the peer's delayed ACK.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = self.registry.opened(writer)
        task = asyncio.current_task()
        self.tasks.add(task)
        try:
            await PeerClosingTCPServer(self.app, asyncio.get_running_loop(), self.config,
                                       self.context, reader, writer)
        finally:
            self.registry.closed(conn)
            self.tasks.discard(task)

    async def shutdown(self):
        await self.stop()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def parse_listen(text):
    m = re.fullmatch(r"\[([0-9a-fA-F:]+)\]:(\d+)|([^:]+):(\d+)", text)
    if not m:
        raise SystemExit(f"--listen/--admin-listen {text!r}: expected HOST:PORT or [V6]:PORT")
    return (m[1], int(m[2])) if m[1] else (m[3], int(m[4]))


class Server:
    def __init__(self, options, services):
        self.options = options
        self.catalogue = Catalogue()
        self.store = Store(self.catalogue, services, options.history, options.watch_queue)
        self.registry = Registry()

    def load_crds(self, directory):
        for name in sorted(os.listdir(directory)):
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path) as f:
                    docs = list(yaml.safe_load_all(f))
            except (OSError, yaml.YAMLError) as err:
                raise SystemExit(f"--crds: {path}: {err}")
            for doc in docs:
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
                    raise SystemExit(f"--crds: {path}: a CustomResourceDefinition without "
                                     "metadata.name")
                try:
                    doc["status"] = crd_status(doc)
                    self.store.create(CRD_RESOURCE, doc)
                except ApiError as err:
                    raise SystemExit(f"--crds: {path}: {err.message}")

    async def run(self):
        options, state = self.options, self.options.state_dir
        os.makedirs(state, exist_ok=True)
        host, port = parse_listen(options.listen)
        creds = make_credentials(host)
        for name in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key", "token"):
            write_atomically(os.path.join(state, name), creds[name])
        options.token = creds["token"].decode()

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        ssl_context.load_cert_chain(os.path.join(state, "server.crt"),
                                    os.path.join(state, "server.key"))
        ssl_context.load_verify_locations(os.path.join(state, "ca.crt"))
        ssl_context.verify_mode = ssl.CERT_OPTIONAL
        ssl_context.set_alpn_protocols(["h2", "http/1.1"])

        config = Config()
        config.h2_max_concurrent_streams = options.max_streams
        config.keep_alive_timeout = 120
        config.errorlog = None

        self.api = Api(self.store, self.catalogue, options)
        self.api_app = ApiApp(self.api, self.registry, options)
        self.api_listener = Listener(host, port, self.api_app, ssl_context, config,
                                     self.registry)
        await self.api_listener.start()
        url_host = f"[{host}]" if ":" in host else host
        options.advertised = f"{url_host}:{self.api_listener.port}"

        admin_host, admin_port = parse_listen(options.admin_listen)
        admin = Listener(admin_host, admin_port, AdminApp(self), None, config, Registry())
        await admin.start()

        write_atomically(os.path.join(state, "kubeconfig"),
                         kubeconfig(f"https://{options.advertised}", creds))
        write_atomically(os.path.join(state, "admin-port"), f"{admin.port}\n".encode())
        write_atomically(os.path.join(state, "ready"), f"{self.api_listener.port}\n".encode())

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        self.store.close_watches("server shutting down")
        await admin.shutdown()
        await self.api_listener.shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Ferry's test API server, a stand-in for kube-apiserver (see README.md)")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT of the API (TLS)")
    parser.add_argument("--admin-listen", default="127.0.0.1:0",
                        help="HOST:PORT of the fault-injection endpoint (plain HTTP)")
    parser.add_argument("--state-dir", required=True,
                        help="where kubeconfig, certificates, token and ready are written")
    parser.add_argument("--crds", help="a directory of CustomResourceDefinition YAML files")
    parser.add_argument("--service-cidrs", default="10.96.0.0/16,fd00:10:96::/108",
                        help="where Services' cluster IPs come from, the first family primary")
    parser.add_argument("--node-port-range", default="30000-32767")
    parser.add_argument("--bookmark-interval", type=float, default=60.0,
                        help="seconds between BOOKMARK events on watches that allow them")
    parser.add_argument("--watch-timeout", type=float, default=1800.0,
                        help="seconds a watch without timeoutSeconds lasts")
    parser.add_argument("--history", type=int, default=100000,
                        help="changes kept for watch resume and paginated lists")
    parser.add_argument("--watch-queue", type=int, default=10000,
                        help="events a watcher may fall behind before it is closed")
    parser.add_argument("--max-streams", type=int, default=1000,
                        help="concurrent HTTP/2 streams per connection (kube's default)")
    options = parser.parse_args(argv)
    try:
        low, high = (int(p) for p in options.node_port_range.split("-"))
    except ValueError:
        parser.error(f"--node-port-range {options.node_port_range!r}: expected LOW-HIGH, "
                     "as 30000-32767")
    try:
        services = ServiceAdmission(options.service_cidrs, (low, high))
    except ValueError as err:
        parser.error(f"--service-cidrs {options.service_cidrs!r}: {err}")
    server = Server(options, services)
    if options.crds:
        server.load_crds(options.crds)
    asyncio.run(server.run())

