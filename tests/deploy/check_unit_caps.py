#!/usr/bin/python3
"""The units' capability set is enough, and each part of it is needed: runs
`tcplinger stats` under setpriv with exactly the units' CapabilityBoundingSet
and NoNewPrivileges (as systemd runs it as root), in a network namespace of
the test's own, against processes of an unprivileged user (uid 65534): one
holds a CLOSE-WAIT socket from before the start, another closes a connection
once tracing has begun (its TIME-WAIT).

Usage: check_unit_caps.py TCPLINGER UNIT_FILE...
  - the units carry the same set;
  - with it: the CLOSE-WAIT socket is present at start, charged to the
    holder's pid and comm; the TIME-WAIT is entered once, charged to the
    closer; nothing warns; the same inside sandbox.sh (every mount read-only,
    private /tmp, empty /home and /root: the units' ProtectSystem=strict,
    ProtectKernelTunables, ProtectControlGroups, PrivateTmp, ProtectHome);
  - the record unit's own ExecStart, sandboxed with only its state directory
    writable (StateDirectory=): `report -j` on the recording gives the same;
  - without CAP_SYS_ADMIN: the "failed to join" warning, the CLOSE-WAIT socket
    in the other namespace is not seen (setns needs CAP_SYS_ADMIN), the new
    TIME-WAIT still is;
  - without CAP_SYSLOG: exit 1 naming CAP_SYSLOG (kallsyms addresses hidden,
    timewait sockets could not be recognized);
  - without CAP_BPF (and CAP_SYS_ADMIN, which implies it): exit 1 and
    "missing CAP_BPF".
What it does not run: systemd itself (the other sandbox options, seccomp-based
RestrictAddressFamilies/RestrictNamespaces/MemoryDenyWriteExecute among them,
are covered only by systemd-analyze verify).
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from checks import check, report as report_errors


def unit_caps(path):
    with open(path) as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    return m.group(1).split() if m else []


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
HOLDER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 40123)); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
print("accepted", flush=True)
sys.stdin.read()   # hold the CLOSE-WAIT socket until the test closes stdin
"""
# Accepts, reads to EOF, closes: the client's close comes first (its TIME-WAIT).
# One thread per connection: a closer left open by a failed case must not
# hold up the next one's close.
ECHO = r"""
import socket, sys, threading
def serve(c):
    while c.recv(100): pass
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 40124)); s.listen(8)
print("listening", flush=True)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""
CLOSER = r"""
import socket, sys
c = socket.create_connection(("127.0.0.1", 40124))
print("connected", flush=True)
sys.stdin.readline()
c.close()
print("closed", flush=True)
sys.stdin.read()
"""


def spawn(ns, args, code):
    # ip netns exec and setpriv exec in place: the pid is python's.
    p = subprocess.Popen(["ip", "netns", "exec", ns, *args, "/usr/bin/python3", "-c", code],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p


def expect_line(p, want, what):
    line = p.stdout.readline().strip()
    return check(line == want, f"{what}: said {line!r}, not {want!r}")


class Run:
    def __init__(self, code, out, err, closer_pid):
        self.code, self.out, self.err, self.closer_pid = code, out, err, closer_pid

    def groups(self, state, field):
        doc = json.loads(self.out)
        return [(g["pid"], g["comm"], g["states"][state][field]) for g in doc["groups"] if g["states"][state][field]]


SANDBOX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.sh")


def traced(binary, args, caps, ns, procs, wrap=(), env=None):
    """tcplinger ARGS under exactly these capabilities (inside `wrap`); once
    it is tracing, a new closer (uid 65534) closes its connection."""
    closer = spawn(ns, NOBODY, CLOSER)
    procs.append(closer)
    expect_line(closer, "connected", "closer")
    bounding = "-all," + ",".join("+" + c[len("CAP_"):].lower() for c in caps)
    st = subprocess.Popen([*wrap, "setpriv", "--bounding-set", bounding, "--inh-caps", "-all", "--no-new-privs", "--",
                           binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, **(env or {})))
    err = []
    for line in st.stderr:  # readiness: tcplinger's own line (capture/live.hpp kTracingLine)
        err.append(line)
        if "tracing (attached" in line:
            closer.stdin.write("close\n")
            closer.stdin.flush()
            expect_line(closer, "closed", "closer")
            break
    out, rest = st.communicate(timeout=60)
    return Run(st.returncode, out, "".join(err) + rest, closer.pid)


def stats(binary, ns, caps, procs, wrap=()):
    return traced(binary, ["stats", "-d", "2", "--netns", f"/run/netns/{ns}", "-j"], caps, ns, procs, wrap)


def record(binary, unit, ns, caps, procs):
    """The record unit's own ExecStart (binary and state directory swapped for
    the test's), for 2 s and in the test's namespace, in the sandbox with
    only the state directory writable; then `report -j` on what it wrote."""
    with open(unit) as f:
        exec_start = re.search(r"^ExecStart=(.*)$", f.read(), re.M).group(1)
    state = tempfile.mkdtemp(prefix="tl-deploy-state-", dir="/var/tmp")
    try:
        args = [state if a == "/var/lib/tcplinger" else a for a in shlex.split(exec_start)[1:]]
        check(state in args, f"record unit: ExecStart {exec_start} does not write /var/lib/tcplinger")
        run = traced(binary, [*args, "-d", "2", "--netns", f"/run/netns/{ns}"], caps, ns, procs,
                     wrap=[SANDBOX], env={"TL_SANDBOX_RW": state})
        if run.code == 0:
            rep = subprocess.run([binary, "report", "-i", state, "-j"], capture_output=True, text=True)
            check(rep.returncode == 0, f"report -i on the recording: {rep.stderr.strip()}")
            run.out = rep.stdout
        return run
    finally:
        shutil.rmtree(state)


def main():
    binary, units = sys.argv[1], sys.argv[2:]
    sets = [unit_caps(u) for u in units]
    check(all(s == sets[0] for s in sets) and sets[0], f"units' CapabilityBoundingSet differ or are empty: {sets}")
    caps = sets[0]
    ns = f"tl-deploy-caps-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs = []
    # The sandbox mounts a fresh /tmp: a build under /tmp would vanish, so the
    # sandboxed runs use a copy outside it.
    boxed_dir = tempfile.mkdtemp(prefix="tl-deploy-bin-", dir="/var/tmp")
    boxed_binary = shutil.copy2(binary, boxed_dir)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        holder = spawn(ns, NOBODY, HOLDER)
        procs.append(holder)
        echo = spawn(ns, [], ECHO)
        procs.append(echo)
        if not (expect_line(holder, "listening", "holder") and expect_line(echo, "listening", "echo")):
            return report()
        # Connect and close at once: the holder's end goes to CLOSE-WAIT and stays.
        subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                        "import socket; socket.create_connection(('127.0.0.1', 40123)).close()"], check=True)
        expect_line(holder, "accepted", "holder")
        # The kernel moves the holder's socket to CLOSE-WAIT when the FIN
        # arrives; wait until ss shows it.
        deadline = time.monotonic() + 10
        while not subprocess.run(["ip", "netns", "exec", ns, "ss", "-Htan", "state", "close-wait"],
                                 capture_output=True, text=True).stdout.strip():
            if not check(time.monotonic() < deadline, "no CLOSE-WAIT socket appeared"):
                return report()
            time.sleep(0.02)

        def sees_everything(run, what):
            """Exit 0, the holder's CLOSE-WAIT from before the start, the
            closer's TIME-WAIT entered during the run, and no warning."""
            if not check(run.code == 0, f"{what}: exit {run.code}: {run.err.strip()}"):
                return
            got = run.groups("CLOSE-WAIT", "present_at_start")
            check(got == [(holder.pid, "python3", 1)],
                  f"{what}: CLOSE-WAIT present at start {got}, want [({holder.pid}, 'python3', 1)]")
            got = run.groups("TIME-WAIT", "entered")
            check(got == [(run.closer_pid, "python3", 1)],
                  f"{what}: TIME-WAIT entered {got}, want [({run.closer_pid}, 'python3', 1)]")
            check("warning" not in run.err, f"{what}: warned: {run.err.strip()}")

        sees_everything(stats(binary, ns, caps, procs), f"with {caps}")
        # Again inside the file-system sandbox (tests/deploy/sandbox.sh).
        sees_everything(stats(boxed_binary, ns, caps, procs, wrap=[SANDBOX]), f"sandboxed with {caps}")
        # The flight recorder: its unit's command line, sandboxed, state dir writable.
        rec_unit = [u for u in units if u.endswith("tcplinger-record.service")]
        if check(len(rec_unit) == 1, "no tcplinger-record.service given"):
            sees_everything(record(boxed_binary, rec_unit[0], ns, caps, procs), "record unit's command")

        no_admin = [c for c in caps if c != "CAP_SYS_ADMIN"]
        part = stats(binary, ns, no_admin, procs)
        if check(part.code == 0, f"without CAP_SYS_ADMIN: exit {part.code}: {part.err.strip()}"):
            check("failed to join" in part.err and "CAP_SYS_ADMIN" in part.err,
                  f"without CAP_SYS_ADMIN: no warning: {part.err.strip()}")
            check(part.groups("CLOSE-WAIT", "present_at_start") == [],
                  "without CAP_SYS_ADMIN the socket in another namespace was seen: CAP_SYS_ADMIN may not be needed")
            got = part.groups("TIME-WAIT", "entered")
            check(got == [(part.closer_pid, "python3", 1)], f"without CAP_SYS_ADMIN: TIME-WAIT entered {got}")

        no_syslog = stats(binary, ns, [c for c in caps if c != "CAP_SYSLOG"], procs)
        check(no_syslog.code == 1 and "CAP_SYSLOG" in no_syslog.err,
              f"without CAP_SYSLOG: exit {no_syslog.code}, {no_syslog.err.strip()}")

        # CAP_SYS_ADMIN implies CAP_BPF and CAP_PERFMON (include/linux/capability.h:
        # bpf_capable, perfmon_capable): CAP_BPF is needed once it is dropped.
        no_bpf = stats(binary, ns, [c for c in no_admin if c != "CAP_BPF"], procs)
        check(no_bpf.code == 1 and "missing CAP_BPF" in no_bpf.err,
              f"without CAP_BPF and CAP_SYS_ADMIN: exit {no_bpf.code}, {no_bpf.err.strip()}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(boxed_dir)
    return report(caps)


def report(caps=()):
    return report_errors("check_unit_caps", f"{' '.join(caps)} suffice; without CAP_SYS_ADMIN, CAP_SYSLOG or "
                         "CAP_BPF it fails as documented")


if __name__ == "__main__":
    sys.exit(main())
