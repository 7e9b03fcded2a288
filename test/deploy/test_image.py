"""The image scripts/build-image makes: it loads from its archive, runs
ferryd and ferryctl, and ferryd in it programs a node with exactly the
capabilities the chart grants, each of them needed. The node is a network
namespace this test makes (a veth as the uplink); the image is built under
a name of this test's own, and everything is removed at the end."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import charts

BUILD_DIR = os.environ.get("FERRY_BUILD_DIR", os.path.join(charts.REPO, "build"))
EXAMPLES = os.path.join(charts.REPO, "deploy", "examples")
PREFIX = f"fdeploy{os.getpid()}"
TIMEOUT = 60  # seconds; a bound for failures on a loaded machine, not a wait


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
    deadline = time.monotonic() + TIMEOUT
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {TIMEOUT}s waiting for {what}")
        time.sleep(0.05)
    return value


IMAGE = f"localhost/{PREFIX}:test"
ARCHIVE = None


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


class Capabilities(unittest.TestCase):
    """ferryd as the DaemonSet runs it: the chart's command and
    capabilities, host network (here the node's namespace), bpffs and
    /run/ferry from the host, read-only root, the runtime's default seccomp
    profile."""

    def setUp(self):
        self.netns = f"{PREFIX}-node"
        self.pins = f"/sys/fs/bpf/{PREFIX}"
        self.run_dir = tempfile.mkdtemp(prefix="ferry-deploy-run-")
        self.addCleanup(shutil.rmtree, self.run_dir, True)
        self.addCleanup(shutil.rmtree, self.pins, True)
        # Removing the namespace removes the veth and the programs on it.
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.netns], check=False)
        ip = ["ip", "-n", self.netns]
        for command in (["ip", "netns", "add", self.netns],
                        ip + ["link", "set", "lo", "up"],
                        ip + ["link", "add", "up0", "type", "veth", "peer", "name", "gw0"],
                        ip + ["link", "set", "up0", "up"], ip + ["link", "set", "gw0", "up"],
                        # node1's addresses in deploy/examples/nodes.yaml
                        ip + ["addr", "add", "198.18.0.11/24", "dev", "up0"],
                        ip + ["addr", "add", "2001:db8:0:1::11/64", "dev", "up0", "nodad"]):
            charts.run(command)
        container = charts.ferryd_container(charts.helm_template("--set", "uplink=up0"))
        self.command = container["command"]
        self.capabilities = container["securityContext"]["capabilities"]["add"]
        self.assertEqual(container["securityContext"]["capabilities"]["drop"], ["ALL"])

    def start(self, name, capabilities):
        """ferryd of the image for node1 of deploy/examples, in the node's
        namespace, with only `capabilities`."""
        self.addCleanup(podman, "rm", "--force", name, check=False)
        podman("run", "--detach", "--name", name, *run_options(),
               "--network", f"ns:/run/netns/{self.netns}", "--read-only",
               "--cap-drop", "all", *[f"--cap-add={c}" for c in capabilities],
               "--mount", "type=bind,src=/sys/fs/bpf,dst=/sys/fs/bpf,bind-propagation=rslave",
               "--volume", f"{self.run_dir}:/run/ferry",
               "--volume", f"{EXAMPLES}:/manifests:ro",
               "--entrypoint", self.command[0], IMAGE, *self.command[1:], "--node", "node1", "--manifests", "/manifests", "--uplink", "up0",
               "--pin-dir", self.pins, "--health-listen", "127.0.0.1:9878")

    def in_node(self, *command):
        return subprocess.run(["ip", "netns", "exec", self.netns, *command],
                              capture_output=True, text=True, check=False)

    def ready(self):
        return self.in_node("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://127.0.0.1:9878/readyz").stdout == "200"

    def bgp_listening(self):
        return ":179 " in self.in_node("ss", "-Hltn", "sport = :179").stdout

    def logs(self, name):
        done = podman("logs", name)
        return done.stdout + done.stderr

    def test_the_charts_capabilities_suffice_and_each_is_needed(self):
        everything = f"{PREFIX}-all"
        self.start(everything, self.capabilities)
        wait_for(self.ready, "ferryd's /readyz with the chart's capabilities")
        wait_for(self.bgp_listening, "ferryd's BGP listener on port 179")
        # SIGTERM, as the kubelet stops it: the programs stay attached, so
        # each start below is a restart that adopts them.
        podman("stop", "--time", str(TIMEOUT), everything)
        self.assertIn("programs stay attached", self.logs(everything))
        podman("rm", everything)

        for missing in self.capabilities:
            with self.subTest(without=missing):
                name = f"{PREFIX}-no-{missing.lower().replace('_', '-')}"
                self.start(name, [c for c in self.capabilities if c != missing])
                if missing == "NET_BIND_SERVICE":
                    wait_for(lambda: "binding 0.0.0.0:179: Permission denied" in self.logs(name),
                             "BGP's bind refused without NET_BIND_SERVICE")
                    self.assertFalse(self.bgp_listening())
                    podman("stop", "--time", str(TIMEOUT), name)
                else:
                    status = podman("wait", name).stdout.strip()
                    self.assertNotEqual(status, "0", self.logs(name))
                    self.assertRegex(self.logs(name), "Operation not permitted|PERMISSION_DENIED")
                podman("rm", name)


if __name__ == "__main__":
    unittest.main()
