"""exporter.prometheus: a real Prometheus scrapes the exporter (filtered to
a test namespace) every second while a known workload runs in it; the
values Prometheus answers are exact.
  - N client-first closes by tw_client: N TIME-WAIT stays for tw_client;
    once their 60 s timers ran, N ends with reason expired, every residency
    in the (59, 65] buckets (TIME-WAIT is 60 s, timer-wheel batching adds
    up to 2 s here: KERNEL_NOTES, README Accuracy);
  - M connections cw_leaker never closes: M CLOSE-WAIT sockets now, and the
    oldest one's age matches the workload's own clock: the gauge is
    computed when a snapshot is published (every second) and read at a
    scrape, so at the scrape's time T it is between (T - close) - 1.1 s
    (one snapshot period plus a poll) and (T - close) + 0.05 s;
  - the same churn by tw_client in a kubelet-style cgroup (a real cgroup v2
    tree the test makes, and a kubelet log tree it writes): N stays under
    that pod's namespace, pod, container and container_id labels;
  - promtool check metrics finds nothing to say about a scrape.
Usage: test_prometheus.py TCPLINGER [--tls]"""
import base64
import os
import signal
import ssl
import subprocess
import urllib.error
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exporter_lib import *  # noqa

N, M = 40, 7


def tls_setup(d):
    """Self-signed certificate for 127.0.0.1, a bcrypt hash (htpasswd), the
    web config (relative cert paths: relative to the file)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", os.path.join(d, "server.key"), "-out", os.path.join(d, "server.crt")],
                   check=True, capture_output=True)
    line = subprocess.run(["htpasswd", "-nbBC", "10", "prom", "s3cret"], check=True, capture_output=True,
                          text=True).stdout.strip()
    user, hash_ = line.split(":", 1)
    cfg = os.path.join(d, "web.yml")
    with open(cfg, "w") as f:
        f.write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                "basic_auth_users:\n  %s: '%s'\n" % (user, hash_))
    return cfg


def eq(got, want, msg):
    check(got == want, "%s (got %s)" % (msg, got))


def main():
    binary = sys.argv[1]
    tls = "--tls" in sys.argv
    ns = Netns("t" if tls else "p")
    tmp = tempfile.mkdtemp(prefix="tlexp")
    exp = prom = leaker = pod = None
    try:
        args = ["--netns", ns.path]
        if not tls:
            pod = KubePod(tmp)
            args += ["--pods-log-root", pod.logs]
        extra = ""
        if tls:
            args += ["--web-config", tls_setup(tmp)]
            extra = ("    tls_config:\n      ca_file: %s\n    basic_auth:\n      username: prom\n"
                     "      password: s3cret\n" % os.path.join(tmp, "server.crt"))
        exp = Exporter(binary, args)
        prom = Prometheus(exp.listen, "https" if tls else "http", extra)
        # Outside the pod unless the labels say otherwise.
        q = lambda metric, labels: prom.value('%s{job="tcplinger",%s%s}' % (
            metric, labels, "" if "pod=" in labels else ',pod=""'))

        if tls:
            ctx = ssl.create_default_context(cafile=os.path.join(tmp, "server.crt"))
            try:
                scrape("https://%s/metrics" % exp.listen, ctx=ctx)
                fail("a scrape without credentials was answered")
            except urllib.error.HTTPError as e:
                check(e.code == 401 and "Basic" in e.headers.get("WWW-Authenticate", ""),
                      "no credentials: 401 with WWW-Authenticate Basic")
            bad = {"Authorization": "Basic " + base64.b64encode(b"prom:wrong").decode()}
            try:
                scrape("https://%s/metrics" % exp.listen, headers=bad, ctx=ctx)
                fail("a wrong password was accepted")
            except urllib.error.HTTPError as e:
                check(e.code == 401, "wrong password: 401")

        # Headroom is exact with tcp_tw_reuse off (in the test namespace
        # only): each TIME-WAIT then holds its port.
        subprocess.run(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=0"], check=True)
        lo_port, hi_port = map(int, subprocess.run(
            ["ip", "netns", "exec", ns.name, "cat", "/proc/sys/net/ipv4/ip_local_port_range"],
            check=True, capture_output=True, text=True).stdout.split())
        # The leak first, so that its sockets are old by the time we look.
        leaker = ns.popen([sys.executable, WORKLOAD, "leak", str(M), "8001"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
        closed_before, closed_after = map(float, leaker.stdout.readline().split())
        end = float(run_workload(ns, ["churn", str(N), "8000"]).strip())
        if pod:
            end = float(run_workload_in(ns, pod, ["churn", str(N), "8002"]).strip())

        t = prom.scraped_after(end + 1.2)
        # The figures settle within a publish period (1 s) and a probe round
        # (250 ms: a hidden FIN-WAIT-2 -> TIME-WAIT move) after the last
        # close, and a busy machine (CI) delays both: wait for them, bounded,
        # instead of trusting one scrape. A wrong count never settles, and
        # the checks below fail on it.
        for want in ('tcplinger_stays_total{job="tcplinger",state="TIME-WAIT",comm="tw_client",pod=""}',
                     'tcplinger_sockets{job="tcplinger",state="TIME-WAIT",comm="tw_client",pod=""}'):
            prom.wait_value(want, N, 10)
        eq(q("tcplinger_stays_total", 'state="TIME-WAIT",comm="tw_client",pod=""'), N,
              "stays_total{TIME-WAIT, tw_client} = %d" % N)
        eq(q("tcplinger_sockets", 'state="TIME-WAIT",comm="tw_client",pod=""'), N,
              "sockets{TIME-WAIT, tw_client} = %d" % N)
        eq(q("tcplinger_stays_total", 'state="TIME-WAIT",comm="tw_server"'), None,
              "no TIME-WAIT for tw_server (the client closed first)")
        eq(q("tcplinger_stays_total", 'state="LAST-ACK",comm="tw_server"'), N,
              "stays_total{LAST-ACK, tw_server} = %d" % N)
        eq(q("tcplinger_sockets", 'state="CLOSE-WAIT",comm="cw_leaker"'), M,
              "sockets{CLOSE-WAIT, cw_leaker} = %d" % M)
        eq(q("tcplinger_stays_total", 'state="CLOSE-WAIT",comm="cw_leaker"'), M,
              "stays_total{CLOSE-WAIT, cw_leaker} = %d" % M)
        eq(q("tcplinger_sockets", 'state="FIN-WAIT-2",comm="cw_peer"'), M,
              "sockets{FIN-WAIT-2, cw_peer} = %d (orphans waiting for the leaker's FIN)" % M)
        res = prom.query('tcplinger_oldest_socket_age_seconds{job="tcplinger",state="CLOSE-WAIT",comm="cw_leaker"}')
        age, at = float(res[0]["value"][1]), None
        at = prom.value('timestamp(tcplinger_oldest_socket_age_seconds{job="tcplinger",state="CLOSE-WAIT",'
                        'comm="cw_leaker"})')
        lo, hi = at - closed_after - 1.1, at - closed_before + 0.05
        check(lo <= age <= hi, "oldest CLOSE-WAIT age %.3f s within [%.3f, %.3f] (scrape at %.3f)" % (age, lo, hi, at))
        check(prom.value('sum(tcplinger_events_lost_total{job="tcplinger"})') == 0, "no events lost")
        usable = hi_port - lo_port + 1
        check(prom.wait_value('tcplinger_port_range_usable{job="tcplinger",netns="%d"}' % ns.inode, usable, 15) ==
              usable, "port_range_usable = %d (the range; nothing reserved or listening in it)" % usable)
        hq = 'tcplinger_port_headroom{job="tcplinger",netns="%d",saddr="127.0.0.1",raddr="127.0.0.1",rport="8000"}'
        got = prom.wait_value(hq % ns.inode, usable - N, 15)
        check(got == usable - N, "port_headroom to 127.0.0.1:8000 = %d - %d TIME-WAIT (got %s)" % (usable, N, got))
        check(prom.value('tcplinger_series{job="tcplinger"}') >= 4, "tcplinger_series counts the label sets")
        if pod:
            k8s = 'namespace="%s",pod="%s",container="%s",container_id="%s"' % (
                pod.NAMESPACE, pod.POD, pod.CONTAINER, pod.ID)
            eq(q("tcplinger_stays_total", 'state="TIME-WAIT",comm="tw_client",' + k8s), N,
                  "stays_total{TIME-WAIT, tw_client, %s} = %d" % (k8s, N))
            eq(q("tcplinger_stays_total", 'state="TIME-WAIT",comm="tw_client",pod=""'), N,
                  "and the %d outside the pod have no pod label" % N)
        if not tls:
            print("query: tcplinger_stays_total{state=\"TIME-WAIT\",comm=\"tw_client\"} ->",
                  prom.query('tcplinger_stays_total{state="TIME-WAIT",comm="tw_client"}'))
            body = scrape("http://%s/metrics" % exp.listen)[2]
            lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
            check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
                  "promtool check metrics is clean: %r" % (lint.stdout + lint.stderr))
            om = scrape("http://%s/metrics" % exp.listen,
                        headers={"Accept": "application/openmetrics-text; version=1.0.0"})
            check(om[1]["Content-Type"].startswith("application/openmetrics-text") and om[2].endswith("# EOF\n"),
                  "Accept: application/openmetrics-text gets OpenMetrics ending in # EOF")

        # TIME-WAIT ends: wait (bounded) for the 60 s timers, then exact.
        want = 'tcplinger_timewait_ends_total{job="tcplinger",reason="expired",comm="tw_client",pod=""}'
        got = prom.wait_value(want, N, timeout=100)
        check(got == N, "timewait_ends_total{expired, tw_client} = %d (got %s)" % (N, got))
        for reason in ("reused", "reset", "purged", "unknown"):
            eq(q("tcplinger_timewait_ends_total", 'reason="%s",comm="tw_client",pod=""' % reason), 0,
                  "timewait_ends_total{%s, tw_client} = 0" % reason)
        h = 'tcplinger_residency_seconds_bucket{job="tcplinger",state="TIME-WAIT",comm="tw_client",pod="",le="%s"}'
        check(prom.value(h % "59.0") == 0 and prom.value(h % "65.0") == N and prom.value(h % "+Inf") == N,
              "all %d TIME-WAIT residencies in (59, 65] s" % N)
        eq(q("tcplinger_sockets", 'state="TIME-WAIT",comm="tw_client",pod=""'), 0, "no TIME-WAIT left")
        eq(q("tcplinger_sockets", 'state="CLOSE-WAIT",comm="cw_leaker"'), M, "the leak is still there")

        if tls:
            # SIGHUP: a bad new file is refused in one line and the old one
            # kept; a good one replaces the users at once.
            cfg = os.path.join(tmp, "web.yml")
            good = open(cfg).read()
            open(cfg, "w").write("basic_auth_users:\n  prom: plaintext\n")
            exp.proc.send_signal(signal.SIGHUP)
            line = exp.wait_line("kept the previous web config", timeout=10)
            check(line is not None and "bad web config" in line, "SIGHUP with a bad file: %r" % line)
            auth = lambda u, p: {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (u, p)).encode()).decode()}
            check(scrape("https://%s/metrics" % exp.listen, headers=auth("prom", "s3cret"), ctx=ctx)[0] == 200,
                  "the old config still serves")
            new_hash = subprocess.run(["htpasswd", "-nbBC", "10", "prom", "n3w"], check=True, capture_output=True,
                                      text=True).stdout.strip().split(":", 1)[1]
            open(cfg, "w").write(good.split("basic_auth_users")[0] + "basic_auth_users:\n  prom: '%s'\n" % new_hash)
            exp.proc.send_signal(signal.SIGHUP)
            check(exp.wait_line("reloaded web config", timeout=10) is not None, "SIGHUP with a good file: reloaded")
            check(scrape("https://%s/metrics" % exp.listen, headers=auth("prom", "n3w"), ctx=ctx)[0] == 200,
                  "the new password works")
            try:
                scrape("https://%s/metrics" % exp.listen, headers=auth("prom", "s3cret"), ctx=ctx)
                fail("the old password still works after the reload")
            except urllib.error.HTTPError as e:
                check(e.code == 401, "the old password gets 401 after the reload")

        leaker.stdin.close()
        leaker.wait(timeout=30)
        leaker = None
        rc = exp.stop()
        check(rc == 0, "SIGTERM: exit 0 (%s)" % exp.stderr[-1:])
        exp = None
    finally:
        if leaker:
            leaker.kill()
        if exp:
            exp.stop()
        if prom:
            prom.stop()
        if pod:
            pod.close()
        ns.close()
    print("PASS")


if __name__ == "__main__":
    main()
