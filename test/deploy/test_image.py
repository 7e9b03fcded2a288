"""The image scripts/build-image makes: it loads from its archive, runs
ferryd and ferryctl; ferryd in it programs a node with exactly the
capabilities the chart grants, each of them needed; and the chart's pod, run
as a kubelet would run it, programs the node from the test API server. The
node is a network namespace this test makes (a veth as the uplink); the
image is built under a name of this test's own, and everything is removed at
the end."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import charts

sys.path.insert(0, os.path.join(charts.REPO, "test", "apiserver"))
import harness  # noqa: E402  (test/apiserver, found through the path above)

BUILD_DIR = os.environ.get("FERRY_BUILD_DIR", os.path.join(charts.REPO, "build"))
EXAMPLES = os.path.join(charts.REPO, "deploy", "examples")
PREFIX = f"fdeploy{os.getpid()}"
TIMEOUT = 60  # seconds; a bound for failures on a loaded machine, not a wait
IMAGE = f"localhost/{PREFIX}:test"
ARCHIVE = None


def podman(*args, check=True):
    done = subprocess.run(["podman", *args], capture_output=True, text=True, check=False,
                          timeout=2 * TIMEOUT)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stderr}")
    return done


def run_options():
    """What `podman run` needs on these machines: runc, cgroupfs, and limits
    runc may set here (podman's defaults, a million files and four million
    processes, it may not)."""
    return ["--runtime", "runc", "--cgroup-manager=cgroupfs",
            "--ulimit", "nofile=1024:4096", "--ulimit", "nproc=1024:1024"]


def wait_for(condition, what):
    return harness.wait_for(condition, what, TIMEOUT)


def setUpModule():
    global ARCHIVE
    if os.geteuid() != 0 or not shutil.which("podman"):
        raise RuntimeError("needs root and podman (scripts/install-deps installs it)")
    workdir = tempfile.mkdtemp(prefix="ferry-deploy-image-")
    unittest.addModuleCleanup(shutil.rmtree, workdir, True)
    ARCHIVE = os.path.join(workdir, "ferry.tar")
    unittest.addModuleCleanup(podman, "rmi", "--force", IMAGE, check=False)
    charts.run([os.path.join(charts.REPO, "scripts", "build-image"),
                "--build-dir", BUILD_DIR, "--no-build", "--tag", IMAGE, "--save", ARCHIVE])


class Image(unittest.TestCase):
    def test_archive_loads_and_runs_ferryd_and_ferryctl(self):
        podman("rmi", IMAGE)
        podman("load", "-i", ARCHIVE)
        ferryd = podman("run", "--rm", *run_options(), "--network", "none", IMAGE, "--help")
        self.assertTrue(ferryd.stdout.startswith("usage: ferryd"), ferryd.stdout)
        ferryctl = podman("run", "--rm", *run_options(), "--network", "none",
                          "--entrypoint", "ferryctl", IMAGE, "--help")
        self.assertTrue(ferryctl.stdout.startswith("usage: ferryctl"), ferryctl.stdout)

    def test_layer_is_reproducible(self):
        again = f"localhost/{PREFIX}:again"
        self.addCleanup(podman, "rmi", "--force", again, check=False)
        charts.run([os.path.join(charts.REPO, "scripts", "build-image"),
                    "--build-dir", BUILD_DIR, "--no-build", "--tag", again])
        layers = [podman("image", "inspect", "--format", "{{.RootFS.Layers}}", image).stdout
                  for image in (IMAGE, again)]
        self.assertEqual(layers[0], layers[1])


class Node:
    """node1 of deploy/examples: a network namespace (the pod's host
    network) whose veth up0 holds node1's addresses, a pin directory and a
    /run/ferry directory; all removed by the test's cleanups."""

    def __init__(self, test):
        self.test = test
        self.netns = f"{PREFIX}-node"
        self.pins = f"/sys/fs/bpf/{PREFIX}"
        self.run_dir = tempfile.mkdtemp(prefix="ferry-deploy-run-")
        test.addCleanup(shutil.rmtree, self.run_dir, True)
        test.addCleanup(shutil.rmtree, self.pins, True)
        # Removing the namespace removes the veth and the programs on it.
        test.addCleanup(subprocess.run, ["ip", "netns", "del", self.netns], check=False)
        ip = ["ip", "-n", self.netns]
        for command in (["ip", "netns", "add", self.netns],
                        ip + ["link", "set", "lo", "up"],
                        ip + ["link", "add", "up0", "type", "veth", "peer", "name", "gw0"],
                        ip + ["link", "set", "up0", "up"], ip + ["link", "set", "gw0", "up"],
                        ip + ["addr", "add", "198.18.0.11/24", "dev", "up0"],
                        ip + ["addr", "add", "2001:db8:0:1::11/64", "dev", "up0", "nodad"]):
            charts.run(command)
        # The chart's container, with the uplink this node has.
        self.container = charts.ferryd_container(charts.helm_template("--set", "uplink=up0"))

    def capabilities(self):
        security = self.container["securityContext"]["capabilities"]
        self.test.assertEqual(security["drop"], ["ALL"])
        return security["add"]

    def start(self, name, capabilities, args, *options):
        """The image's ferryd as the DaemonSet runs it, with the chart's
        command, on this node: host network, bpffs and /run/ferry from the
        host, read-only root, the runtime's default seccomp profile, only
        `capabilities`."""
        self.test.addCleanup(podman, "rm", "--force", name, check=False)
        command = self.container["command"]
        podman("run", "--detach", "--name", name, *run_options(),
               "--network", f"ns:/run/netns/{self.netns}", "--read-only",
               "--cap-drop", "all", *[f"--cap-add={c}" for c in capabilities],
               "--mount", "type=bind,src=/sys/fs/bpf,dst=/sys/fs/bpf,bind-propagation=rslave",
               "--volume", f"{self.run_dir}:/run/ferry", *options,
               "--entrypoint", command[0], IMAGE, *command[1:], "--pin-dir", self.pins, *args)

    def run(self, *command):
        return subprocess.run(["ip", "netns", "exec", self.netns, *command],
                              capture_output=True, text=True, check=False)

    def ready(self):
        return self.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "http://127.0.0.1:9878/readyz").stdout == "200"

    def bgp_listening(self):
        return ":179 " in self.run("ss", "-Hltn", "sport = :179").stdout


def logs(name):
    done = podman("logs", name)
    return done.stdout + done.stderr


class Capabilities(unittest.TestCase):
    def test_the_charts_capabilities_suffice_and_each_is_needed(self):
        node = Node(self)
        capabilities = node.capabilities()
        manifests = ["--volume", f"{EXAMPLES}:/manifests:ro"]
        args = ["--node", "node1", "--manifests", "/manifests", "--uplink", "up0",
                "--health-listen", "127.0.0.1:9878"]
        everything = f"{PREFIX}-all"
        node.start(everything, capabilities, args, *manifests)
        wait_for(node.ready, "ferryd's /readyz with the chart's capabilities")
        wait_for(node.bgp_listening, "ferryd's BGP listener on port 179")
        # SIGTERM, as the kubelet stops it: the programs stay attached, so
        # each start below is a restart that adopts them.
        podman("stop", "--time", str(TIMEOUT), everything)
        self.assertIn("programs stay attached", logs(everything))
        podman("rm", everything)

        for missing in capabilities:
            with self.subTest(without=missing):
                name = f"{PREFIX}-no-{missing.lower().replace('_', '-')}"
                node.start(name, [c for c in capabilities if c != missing], args, *manifests)
                if missing == "NET_BIND_SERVICE":
                    wait_for(lambda: "binding 0.0.0.0:179: Permission denied" in logs(name),
                             "BGP's bind refused without NET_BIND_SERVICE")
                    self.assertFalse(node.bgp_listening())
                    podman("stop", "--time", str(TIMEOUT), name)
                else:
                    status = podman("wait", name).stdout.strip()
                    self.assertNotEqual(status, "0", logs(name))
                    self.assertRegex(logs(name), "Operation not permitted|PERMISSION_DENIED")
                podman("rm", name)


class InCluster(unittest.TestCase):
    """The chart's pod as a kubelet runs it: its arguments with the
    downward API's values put in, the service account's token and CA at
    the in-cluster path, KUBERNETES_SERVICE_HOST and _PORT. The test API
    server listens on the node's loopback (the node is a namespace; nothing
    listens in the machine's own)."""

    def test_the_charts_pod_programs_the_node_from_the_api(self):
        node = Node(self)
        api = harness.ApiServer(self, netns=node.netns)
        api.kubectl("apply", "-f", EXAMPLES)

        account = tempfile.mkdtemp(prefix="ferry-deploy-serviceaccount-")
        self.addCleanup(shutil.rmtree, account, True)
        shutil.copy(os.path.join(api.state, "token"), os.path.join(account, "token"))
        shutil.copy(os.path.join(api.state, "ca.crt"), os.path.join(account, "ca.crt"))
        with open(os.path.join(account, "namespace"), "w") as f:
            f.write(charts.NAMESPACE)
        downward = {"$(K8S_NODE_NAME)": "node1", "$(K8S_NAMESPACE)": charts.NAMESPACE}
        args = []
        for arg in node.container["args"]:
            for variable, value in downward.items():
                arg = arg.replace(variable, value)
            args.append(arg)
        self.assertIn("--in-cluster", args)

        name = f"{PREFIX}-pod"
        node.start(name, node.capabilities(), args,
                   "--volume", f"{account}:/var/run/secrets/kubernetes.io/serviceaccount:ro",
                   "--env", "KUBERNETES_SERVICE_HOST=127.0.0.1",
                   "--env", f"KUBERNETES_SERVICE_PORT={api.port}")
        wait_for(node.ready, f"the pod's /readyz; its log:\n{logs(name)}")

        def services():
            listed = podman("exec", name, "ferryctl", "--pin-dir", node.pins,
                            "--socket", "/run/ferry/node1/ferryd.sock",
                            "service", "list", "-o", "json").stdout
            return json.dumps(json.loads(listed))
        wait_for(lambda: "198.19.0.10" in services() and "2001:db8:19::10" in services(),
                 "default/web's VIPs from the API in the agent's services")
        api.kubectl("delete", "-f", os.path.join(EXAMPLES, "service.yaml"))
        wait_for(lambda: "198.19.0.10" not in services(),
                 "default/web gone from the agent's services once deleted through the API")


if __name__ == "__main__":
    unittest.main()
