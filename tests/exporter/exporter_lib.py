"""What the exporter tests share: a test network namespace, the exporter
started and waited for (its readiness line, never a sleep), a real
Prometheus on a free loopback port, its HTTP API, and the workload run
inside the namespace by processes with known names (comm)."""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TRACING_LINE = "tcplinger: tracing (attached "
HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = os.path.join(HERE, "workload.py")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Netns:
    def __init__(self, tag):
        self.name = "tlexp%s%d" % (tag, os.getpid())
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.path = "/run/netns/" + self.name
        self.inode = os.stat(self.path).st_ino

    def popen(self, args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + args, **kw)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name])


class Exporter:
    """tcplinger exporter, ready once both readiness lines are on stderr."""

    def __init__(self, binary, args, timeout=60):
        self.port = free_port()
        self.listen = "127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen([binary, "exporter", "--listen", self.listen] + args,
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.stderr = []
        listening = tracing = False
        deadline = time.monotonic() + timeout
        while not (listening and tracing):
            line = self._line(deadline)
            if line is None:
                self.stop()
                fail("exporter not ready: " + " | ".join(self.stderr))
            listening |= "exporter listening on " in line
            tracing |= line.startswith(TRACING_LINE)

    def _line(self, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stderr], [], [], left)
            if not r:
                return None
            line = self.proc.stderr.readline()
            if not line:
                return None
            self.stderr.append(line.rstrip("\n"))
            return line

    def wait_line(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            if line is None:
                return None
            if text in line:
                return line

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                out = self.proc.communicate(timeout=30)[1]
                self.stderr += out.splitlines()
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Prometheus:
    """A real Prometheus scraping `target` every second."""

    def __init__(self, target, scheme="http", extra=""):
        self.dir = tempfile.mkdtemp(prefix="tlprom")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: tcplinger\n    scheme: %s\n%s"
                    "    static_configs:\n      - targets: ['%s']\n" % (scheme, extra, target))
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                                      "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                                      "--web.listen-address=127.0.0.1:%d" % self.port],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                fail("prometheus did not become ready: " + open(os.path.join(self.dir, "log")).read()[-2000:])
            time.sleep(0.2)

    def query(self, q):
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        if body.get("status") != "success":
            fail("query %s: %s" % (q, body))
        return body["data"]["result"]

    def value(self, q):
        """The single sample's value, or None when the query gives none."""
        res = self.query(q)
        if not res:
            return None
        if len(res) != 1:
            fail("query %s gave %d series: %s" % (q, len(res), res))
        return float(res[0]["value"][1])

    def scraped_after(self, wall, timeout=30):
        """Waits until Prometheus holds a successful scrape that started at
        or after `wall` (seconds since the epoch); returns its time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = self.query('timestamp(up{job="tcplinger"} == 1)')
            if res and float(res[0]["value"][1]) >= wall:
                return float(res[0]["value"][1])
            time.sleep(0.2)
        fail("no successful scrape after %.3f: up=%s" % (wall, self.query("up")))

    def wait_value(self, q, want, timeout):
        deadline = time.monotonic() + timeout
        v = None
        while time.monotonic() < deadline:
            v = self.value(q)
            if v == want:
                return v
            time.sleep(0.5)
        return v

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_workload(ns, args, timeout=60):
    """Runs workload.py in the namespace to its end; returns its stdout."""
    p = ns.popen([sys.executable, WORKLOAD] + args, stdout=subprocess.PIPE, text=True)
    out = p.communicate(timeout=timeout)[0]
    if p.returncode != 0:
        fail("workload %s exited %d" % (args, p.returncode))
    return out


def scrape(url, headers=None, ctx=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
        return r.status, r.headers, r.read().decode()


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    return None


class KubePod:
    """A kubelet-style cgroup v2 tree (systemd driver, containerd) under a
    per-test parent, and the kubelet's log tree for it in a temp dir: the
    exporter derives namespace, pod, container and container_id from them."""

    UID = "7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
    ID = "3b8f1c0d9e2a4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9"
    NAMESPACE, POD, CONTAINER = "payments", "api-6f7c9d-x7k2p", "api"

    def __init__(self, tmp):
        root = cgroup2_root()
        self.made = []
        at = root
        for name in ["tl-test-exporter-%d" % os.getpid(), "kubepods.slice", "kubepods-burstable.slice",
                     "kubepods-burstable-pod%s.slice" % self.UID.replace("-", "_"),
                     "cri-containerd-%s.scope" % self.ID]:
            at = os.path.join(at, name)
            os.mkdir(at)
            self.made.append(at)
        self.procs = os.path.join(at, "cgroup.procs")
        self.logs = os.path.join(tmp, "pods")
        pod_dir = os.path.join(self.logs, "%s_%s_%s" % (self.NAMESPACE, self.POD, self.UID))
        os.makedirs(os.path.join(pod_dir, self.CONTAINER))
        log = os.path.join(pod_dir, self.CONTAINER, "0.log")
        open(log, "w").write("2026-12-01T18:00:00Z stdout F up\n")
        os.makedirs(os.path.join(tmp, "containers"))
        os.symlink(log, os.path.join(tmp, "containers", "%s_%s_%s-%s.log" %
                                     (self.POD, self.NAMESPACE, self.CONTAINER, self.ID)))

    def wrap(self, args):
        """args run inside the pod's cgroup."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', self.procs] + args

    def close(self):
        for d in reversed(self.made):
            try:
                os.rmdir(d)
            except OSError as e:
                print("failed to remove cgroup %s: %s" % (d, e), file=sys.stderr)


def run_workload_in(ns, pod, args, timeout=60):
    p = subprocess.Popen(pod.wrap(["ip", "netns", "exec", ns.name, sys.executable, WORKLOAD] + args),
                         stdout=subprocess.PIPE, text=True)
    out = p.communicate(timeout=timeout)[0]
    if p.returncode != 0:
        fail("workload %s in the pod cgroup exited %d" % (args, p.returncode))
    return out
