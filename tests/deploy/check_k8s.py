#!/usr/bin/python3
"""deploy/k8s and deploy/Containerfile, field by field (no cluster or image
build runs here). Parses every manifest with PyYAML (Debian python3-yaml).

Usage: check_k8s.py DEPLOY_DIR REPO_DIR TCPLINGER_BINARY
Checks:
  - every file parses; kinds/apiVersions as expected; one namespace for all;
    kustomization lists every resource file but one of the two monitors;
  - DaemonSet: not privileged, no privilege escalation, read-only root fs,
    runAsUser 0, capabilities drop [ALL] and add exactly the set below,
    hostPID on and hostNetwork off, no service account token, no hostPort;
    volumes exactly the hostPaths below, each mounted at the same path and
    read-only; --listen's port is the container port named "metrics";
    --pods-log-root is the /var/log/pods mount; every --option is one that
    `tcplinger exporter --help` lists; both probes GET /metrics on
    that port; a memory limit and no CPU limit;
  - selectors: DaemonSet selector, Service selector, PodMonitor selector all
    match the pod template's labels; ServiceMonitor selects the Service; the
    monitors' port names are the container's / Service's port name;
  - the namespace enforces Pod Security "privileged" (hostPID and hostPath
    need it);
  - Containerfile: Debian 12 base images only, packages installed with apt-get
    only, every package exists in Debian 12 (apt-cache), COPY --from names a
    stage, COPY sources exist in the repository, the copied binary is where
    scripts/bootstrap --tool builds it, ENTRYPOINT is the copied binary, the
    runtime stage's packages own every shared library the built binary links
    directly (objdump NEEDED, ldd, dpkg -S), EXPOSE is the container port.
"""
import os
import re
import subprocess
import sys

import yaml

CAPS = ["BPF", "PERFMON", "SYSLOG", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_ADMIN"]
HOST_PATHS = {"/sys/fs/cgroup", "/var/log/pods", "/var/log/containers", "/sys/kernel/btf", "/sys/kernel/tracing"}
NAMESPACE = "tcplinger"

from checks import check, report as report_errors


def load(deploy):
    docs = {}
    kdir = os.path.join(deploy, "k8s")
    for name in sorted(os.listdir(kdir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(kdir, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                check(isinstance(doc, dict) and "kind" in doc, f"{name}: not a Kubernetes object")
                docs.setdefault(doc["kind"], []).append((name, doc))
    return docs


def one(docs, kind, api):
    items = docs.get(kind, [])
    if not check(len(items) == 1, f"expected exactly one {kind}, found {len(items)}"):
        return None
    name, doc = items[0]
    check(doc.get("apiVersion") == api, f"{name}: {kind} apiVersion {doc.get('apiVersion')} != {api}")
    if kind not in ("Namespace", "Kustomization"):
        check(doc["metadata"].get("namespace") == NAMESPACE, f"{name}: namespace is not {NAMESPACE}")
    return doc


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_daemonset(ds):
    spec = ds["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    check(selects(spec["selector"]["matchLabels"], pod_labels), "DaemonSet selector does not match its pod labels")
    pod = spec["template"]["spec"]
    check(pod.get("hostPID") is True, "DaemonSet: hostPID must be true (host pids, /proc/*/ns/net, task_file)")
    check(pod.get("hostNetwork", False) is False, "DaemonSet: hostNetwork must be off (listens on the pod IP)")
    check(pod.get("automountServiceAccountToken") is False, "DaemonSet: the API token must not be mounted")
    check(len(pod["containers"]) == 1, "DaemonSet: one container")
    c = pod["containers"][0]
    check(not pod.get("initContainers"), "DaemonSet: no init containers")

    sc = c.get("securityContext", {})
    check(sc.get("privileged") is False, "container: privileged must be false (explicitly)")
    check(sc.get("allowPrivilegeEscalation") is False, "container: allowPrivilegeEscalation must be false")
    check(sc.get("readOnlyRootFilesystem") is True, "container: readOnlyRootFilesystem must be true")
    check(sc.get("runAsUser") == 0, "container: runAsUser must be 0")
    caps = sc.get("capabilities", {})
    check(caps.get("drop") == ["ALL"], f"container: capabilities.drop {caps.get('drop')} != [ALL]")
    check(caps.get("add") == CAPS, f"container: capabilities.add {caps.get('add')} != {CAPS}")
    check(pod.get("securityContext", {}).get("privileged") is None, "pod securityContext has no privileged field")

    ports = c.get("ports", [])
    check(len(ports) == 1 and ports[0].get("name") == "metrics", "container: one port, named metrics")
    port = ports[0]["containerPort"] if ports else None
    check(all("hostPort" not in p for p in ports), "container: no hostPort")

    args = c.get("args", [])
    check(args[:1] == ["exporter"], f"container: args start with 'exporter', not {args[:1]}")

    def arg(flag):
        return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None

    listen = arg("--listen")
    check(listen is not None and listen.rsplit(":", 1)[-1] == str(port),
          f"--listen {listen} does not serve the container port {port}")
    check(listen is not None and not listen.startswith("127."), "--listen on loopback is unreachable in a pod")

    # Every option the DaemonSet passes is one `tcplinger exporter` documents.
    helped = subprocess.run([BINARY, "exporter", "--help"], capture_output=True, text=True)
    if check(helped.returncode == 0 and re.search(r"^Usage: \S+ exporter", helped.stdout, re.M),
             f"{BINARY} has no exporter command (`exporter --help` shows no 'Usage: ... exporter')"):
        for a in args:
            if a.startswith("--"):
                check(re.search(r"(^|[\s,])" + re.escape(a) + r"\b", helped.stdout) is not None,
                      f"container: {a} is not an option of tcplinger exporter")

    for probe in ("readinessProbe", "livenessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == "/metrics", f"{probe}: path {get.get('path')} != /metrics")
        check(get.get("port") in ("metrics", port), f"{probe}: port {get.get('port')} is not the metrics port")

    res = c.get("resources", {})
    check("memory" in res.get("limits", {}), "container: a memory limit (BPF maps are memcg-charged)")
    check("cpu" not in res.get("limits", {}), "container: no CPU limit (throttling loses events)")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = c.get("volumeMounts", [])
    check({m["name"] for m in mounts} == set(volumes), "every volume is mounted and every mount has a volume")
    seen_paths = set()
    for m in mounts:
        v = volumes.get(m["name"], {})
        hp = v.get("hostPath")
        if not check(hp is not None, f"volume {m['name']} is not a hostPath"):
            continue
        seen_paths.add(hp["path"])
        check(m["mountPath"] == hp["path"], f"{m['name']}: mounted at {m['mountPath']}, host path {hp['path']}")
        check(m.get("readOnly") is True, f"{m['name']}: hostPath mount must be readOnly")
        check(hp.get("type") == "Directory", f"{m['name']}: hostPath type Directory (never create on the host)")
        check("mountPropagation" not in m or m["mountPropagation"] != "Bidirectional",
              f"{m['name']}: no Bidirectional propagation")
    check(seen_paths == HOST_PATHS, f"hostPaths {sorted(seen_paths)} != {sorted(HOST_PATHS)}")
    check(arg("--pods-log-root") == "/var/log/pods" and "/var/log/pods" in seen_paths,
          "--pods-log-root must be the mounted /var/log/pods")
    return pod_labels, port


def check_containerfile(deploy, repo, binary, container_port):
    path = os.path.join(deploy, "Containerfile")
    with open(path) as f:
        text = f.read()
    # Join continuation lines, drop comments.
    lines = [l for l in text.replace("\\\n", " ").splitlines() if l.strip() and not l.lstrip().startswith("#")]
    stages, runtime_pkgs, copied = [], [], {}
    entry = None
    expose = []
    for line in lines:
        op, _, rest = line.strip().partition(" ")
        op = op.upper()
        if op == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.I)
            check(m is not None, f"Containerfile: cannot read FROM {rest}")
            image, stage = m.group(1), m.group(2)
            check(re.fullmatch(r"debian:(12|bookworm)(-slim)?", image) is not None,
                  f"Containerfile: base image {image} is not Debian 12")
            stages.append(stage)
        elif op == "RUN":
            check(not re.search(r"\b(curl|wget|pip3?|npm|go get|cargo)\b", rest), f"Containerfile: non-apt fetch in RUN {rest}")
            for m in re.finditer(r"apt-get install ((?:\S+\s*)+?)(?:&&|$)", rest):
                pkgs = [p for p in m.group(1).split() if not p.startswith("-")]
                # One apt-cache call: it names every package it knows and fails on none.
                r = subprocess.run(["apt-cache", "show", "--no-all-versions", *pkgs], capture_output=True, text=True)
                known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
                for p in pkgs:
                    check(p in known, f"Containerfile: {p} is not a Debian package")
                if len(stages) > 1:
                    runtime_pkgs += pkgs
        elif op == "COPY":
            parts = rest.split()
            src_stage = None
            if parts[0].startswith("--from="):
                src_stage = parts[0].split("=", 1)[1]
                parts = parts[1:]
                check(src_stage in stages[:-1], f"Containerfile: COPY --from={src_stage} names no earlier stage")
            *srcs, dst = parts
            for s in srcs:
                if src_stage is None:
                    check(os.path.exists(os.path.join(repo, s)), f"Containerfile: COPY source {s} not in the repository")
                else:
                    copied[dst] = s
        elif op == "ENTRYPOINT":
            entry = yaml.safe_load(rest)[0]
        elif op == "EXPOSE":
            expose += rest.split()
    check(len(stages) >= 2, "Containerfile: a build stage and a runtime stage")
    with open(os.path.join(repo, "scripts", "bootstrap")) as f:
        m = re.search(r"--tool\" \]; then\s*\n\s*dir=(\S+)", f.read())
    tool_dir = m.group(1) if m else None
    check(tool_dir is not None, "scripts/bootstrap: cannot find the --tool build dir")
    check(copied.get(entry) == f"/src/{tool_dir}/tcplinger",
          f"Containerfile: ENTRYPOINT {entry} is not the binary copied from /src/{tool_dir}/tcplinger ({copied})")
    check(expose == [str(container_port)], f"Containerfile: EXPOSE {expose} != the container port {container_port}")

    # The runtime stage must carry the package of every library the binary
    # links directly (DT_NEEDED); apt brings those packages' own dependencies.
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    where = dict(re.findall(r"^\s*(\S+)\s+=>\s+(/\S+)", out, re.M))
    dyn = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", dyn, re.M)
    check(len(needed) > 0, "objdump: the binary lists no NEEDED libraries")
    for name in needed:
        lib = where.get(name)
        if not check(lib is not None, f"ldd: {name} not found"):
            continue
        candidates = {lib, os.path.realpath(lib)}
        candidates |= {c[len("/usr"):] for c in list(candidates) if c.startswith("/usr/")}
        owner = None
        for c in candidates:
            r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0]
                break
        if check(owner is not None, f"ldd: no Debian package owns {lib}"):
            check(owner in runtime_pkgs, f"Containerfile: runtime stage lacks {owner} (for {lib})")


BINARY = None


def main():
    global BINARY
    deploy, repo, binary = sys.argv[1:4]
    BINARY = binary
    docs = load(deploy)
    ns = one(docs, "Namespace", "v1")
    if ns:
        check(ns["metadata"]["name"] == NAMESPACE, "Namespace name")
        check(ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "privileged",
              "Namespace: Pod Security must enforce privileged (hostPID, hostPath)")
    sa = one(docs, "ServiceAccount", "v1")
    ds = one(docs, "DaemonSet", "apps/v1")
    svc = one(docs, "Service", "v1")
    pm = one(docs, "PodMonitor", "monitoring.coreos.com/v1")
    sm = one(docs, "ServiceMonitor", "monitoring.coreos.com/v1")
    if not all([sa, ds, svc, pm, sm]):
        return report()
    check(sa.get("automountServiceAccountToken") is False, "ServiceAccount: no token")
    check(ds["spec"]["template"]["spec"].get("serviceAccountName") == sa["metadata"]["name"], "DaemonSet uses the SA")
    pod_labels, port = check_daemonset(ds)

    check(selects(svc["spec"]["selector"], pod_labels), "Service selector does not match the pods")
    check(svc["spec"].get("clusterIP") == "None", "Service: headless (one target per pod)")
    sports = svc["spec"]["ports"]
    check(len(sports) == 1 and sports[0]["name"] == "metrics" and sports[0]["port"] == port
          and sports[0]["targetPort"] in ("metrics", port), f"Service port {sports} is not the metrics port")

    for mon, key, target_labels, port_name in (
        (pm, "podMetricsEndpoints", pod_labels, "metrics"),
        (sm, "endpoints", svc["metadata"]["labels"], sports[0]["name"]),
    ):
        kind = mon["kind"]
        check(selects(mon["spec"]["selector"]["matchLabels"], target_labels), f"{kind} selector matches nothing")
        check(mon["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE], f"{kind}: namespaceSelector")
        eps = mon["spec"][key]
        check(len(eps) == 1, f"{kind}: one endpoint")
        ep = eps[0]
        check(ep["port"] == port_name, f"{kind}: port {ep['port']} != {port_name}")
        check(ep.get("path", "/metrics") == "/metrics", f"{kind}: path")
        drops = [r for r in ep.get("relabelings", []) if r.get("action") == "labeldrop"]
        check(any(set(r["regex"].split("|")) >= {"namespace", "pod", "container"} for r in drops),
              f"{kind}: the target's namespace/pod/container must be dropped (they clash with the workload's)")

    kust = one(docs, "Kustomization", "kustomize.config.k8s.io/v1beta1")
    if kust:
        files = {n for n in os.listdir(os.path.join(deploy, "k8s")) if n.endswith(".yaml")} - {"kustomization.yaml"}
        listed = set(kust["resources"])
        check(listed <= files, f"kustomization lists missing files {sorted(listed - files)}")
        check(files - listed == {"servicemonitor.yaml"}, f"kustomization leaves out {sorted(files - listed)}")

    check_containerfile(deploy, repo, binary, port)
    return report()


def report():
    return report_errors("check_k8s", "manifests and Containerfile checked")


if __name__ == "__main__":
    sys.exit(main())
