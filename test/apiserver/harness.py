"""Runs ferry_test_apiserver.py for one test and gives clients of it: the
python3-kubernetes client, kubectl, curl and the admin endpoint. Every
process and directory made here is removed by the test's cleanups, also
when the test fails."""

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import kubernetes
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "ferry_test_apiserver.py")
REPO = os.path.dirname(os.path.dirname(HERE))
CRDS = os.path.join(REPO, "deploy", "crds")
EXAMPLES = os.path.join(REPO, "deploy", "examples")
START_TIMEOUT = 60  # seconds; a bound for failures on a loaded machine, not a wait
WAIT_TIMEOUT = 30


def kubectl_path():
    """kubectl from FERRY_KUBECTL (CMake finds it), else PATH, else where
    scripts/install-deps puts it."""
    for candidate in (os.environ.get("FERRY_KUBECTL"), shutil.which("kubectl"),
                      "/opt/ferry-tools/bin/kubectl"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("kubectl not found: run scripts/install-deps")


def wait_for(condition, what, timeout=WAIT_TIMEOUT):
    """Polls `condition` until it returns a true value; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class ApiServer:
    """One server process with its own state directory."""

    def __init__(self, test, *extra_args, crds=True, netns=None):
        """netns: run the server, and kubectl, in that network namespace,
        for clients that live there."""
        self.dir = tempfile.mkdtemp(prefix="ferry-apiserver-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.in_netns = ["ip", "netns", "exec", netns] if netns else []
        args = [*self.in_netns, sys.executable, SERVER,
                "--state-dir", os.path.join(self.dir, "state")]
        if crds:
            args += ["--crds", CRDS]
        self.log_path = os.path.join(self.dir, "server.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args + list(extra_args), stdout=log,
                                         stderr=subprocess.STDOUT)
        test.addCleanup(self.stop)
        self.state = os.path.join(self.dir, "state")
        wait_for(lambda: self._started(), "the server's ready file", START_TIMEOUT)
        self.port = int(self.read("ready"))
        self.admin_port = int(self.read("admin-port"))
        self.kubeconfig = os.path.join(self.state, "kubeconfig")
        with open(self.kubeconfig) as f:
            self.url = yaml.safe_load(f)["clusters"][0]["cluster"]["server"]
        self.test = test

    def _started(self):
        if self.proc.poll() is not None:
            with open(self.log_path) as f:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{f.read()}")
        return os.path.exists(os.path.join(self.state, "ready"))

    def read(self, name):
        with open(os.path.join(self.state, name)) as f:
            return f.read().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- clients

    def client(self, context="token"):
        config = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=self.kubeconfig, context=context,
                                           client_configuration=config)
        api = kubernetes.client.ApiClient(config)
        self.test.addCleanup(api.close)
        return api

    def admin(self, method, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}",
                                         method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=WAIT_TIMEOUT) as response:
            return json.load(response)

    def kubectl_command(self):
        """kubectl for this server, with a discovery cache of its own."""
        return [*self.in_netns, kubectl_path(), "--kubeconfig", self.kubeconfig,
                "--cache-dir", os.path.join(self.dir, "kube-cache")]

    def kubectl(self, *args, context=None, check=True, stdin=None):
        command = self.kubectl_command()
        if context:
            command += ["--context", context]
        result = subprocess.run(command + list(args), capture_output=True, text=True,
                                input=stdin, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def popen(self, command):
        """A long-running client (kubectl get -w, curl), killed at cleanup,
        whose output lines arrive on a queue."""
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)

        def kill():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
        self.test.addCleanup(kill)
        lines = queue.Queue()

        def pump():
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)
        threading.Thread(target=pump, daemon=True).start()
        return proc, lines


class WatchReader:
    """Reads a python3-kubernetes watch on a thread; events arrive on a
    queue as (type, raw object), then ("END", exception or None)."""

    def __init__(self, func, *args, **kwargs):
        self.events = queue.Queue()
        threading.Thread(target=self._run, args=(func, args, kwargs), daemon=True).start()

    def _run(self, func, args, kwargs):
        try:
            for event in kubernetes.watch.Watch().stream(func, *args, **kwargs):
                self.events.put((event["type"], event["raw_object"]))
            self.events.put(("END", None))
        except Exception as err:  # the test reads it from the queue
            self.events.put(("END", err))

    def next(self, timeout=WAIT_TIMEOUT):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no watch event within {timeout}s")

    def next_not_bookmark(self):
        while True:
            kind, obj = self.next()
            if kind != "BOOKMARK":
                return kind, obj


def service(name, labels=None, port=80, node_ports=True):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": node_ports,
                     "ports": [{"port": port, "protocol": "TCP"}]}}


def pool(name, cidr="198.19.0.0/16"):
    return {"apiVersion": "ferry.dev/v1alpha1", "kind": "LoadBalancerIPPool",
            "metadata": {"name": name}, "spec": {"blocks": [{"cidr": cidr}]}}
