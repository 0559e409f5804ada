#!/usr/bin/python3
"""The Grafana dashboard and the alerting rules name only metrics the exporter
exports, with labels those metrics carry (the METRICS.md contract, below).

Usage: check_dashboard.py DASHBOARD_JSON RULES_YML
Checks:
  - the dashboard is valid JSON with unique panel ids, every query panel has a
    Prometheus target, and every target / variable query parses as far as
    this check reads PromQL: metric names, label matchers, by/without/on/
    ignoring/group_left/group_right label lists;
  - every metric is a contract metric (histograms: _bucket/_sum/_count), and
    every label used is one that metric has (plus le on _bucket and the
    scrape's job/instance/node);
  - the residency heatmap: a heatmap panel over tcplinger_residency_seconds_bucket
    by le, format heatmap, repeated over a $state variable holding the five
    states; panels for TIME-WAIT per comm, the oldest CLOSE-WAIT, the
    headroom and the tracer's losses exist;
  - the same metric and label check for every rule expression.
"""
import json
import re
import sys

import yaml

GROUP = {"comm", "unit", "container_id", "namespace", "pod", "container"}
METRICS = {  # name: (type, labels), from METRICS.md
    "tcplinger_stays_total": ("counter", {"state"} | GROUP),
    "tcplinger_sockets": ("gauge", {"state"} | GROUP),
    "tcplinger_oldest_socket_age_seconds": ("gauge", {"state"} | GROUP),
    "tcplinger_residency_seconds": ("histogram", {"state"} | GROUP),
    "tcplinger_timewait_ends_total": ("counter", {"reason"} | GROUP),
    "tcplinger_aborted_closes_total": ("counter", GROUP),
    "tcplinger_timewait_overflows_total": ("counter", {"netns"}),
    "tcplinger_port_headroom": ("gauge", {"netns", "saddr", "raddr", "rport"}),
    "tcplinger_port_range_usable": ("gauge", {"netns"}),
    "tcplinger_events_total": ("counter", set()),
    "tcplinger_events_lost_total": ("counter", {"reason"}),
    "tcplinger_sockets_evicted_total": ("counter", set()),
    "tcplinger_series_dropped_total": ("counter", set()),
    "tcplinger_series": ("gauge", set()),
    "tcplinger_bpf_run_seconds_total": ("counter", {"program"}),
    "tcplinger_build_info": ("gauge", {"version", "revision"}),
}
TARGET_LABELS = {"job", "instance", "node"}
STATES = ["TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING"]
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "count_over_time", "delta", "deriv", "exp", "floor", "histogram_quantile", "holt_winters", "idelta",
    "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log2", "log10",
    "max_over_time", "min_over_time", "predict_linear", "quantile_over_time", "rate", "resets", "round",
    "scalar", "sort", "sort_desc", "sqrt", "stddev_over_time", "sum_over_time", "time", "timestamp", "vector",
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
    "label_values", "inf", "nan",
}

from checks import check, report as report_errors


def metric_labels(name):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if name in METRICS:
        return METRICS[name][1]
    if base in METRICS and METRICS[base][0] == "histogram":
        return METRICS[base][1] | ({"le"} if name.endswith("_bucket") else set())
    return None


def check_expr(expr, where):
    """Returns the metric names used."""
    # Grafana variables: $__rate_interval, ${x}, $x.
    e = re.sub(r"\$\{?\w+\}?", "x", expr)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', e)  # string literals
    e = re.sub(r"\[[^\]]*\]", "", e)  # range and subquery selectors
    used_metrics = []
    # selectors: name{matchers} or bare name
    for m in re.finditer(r"([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?", e):
        name, matchers = m.group(1), m.group(2)
        if name in FUNCTIONS or re.fullmatch(r"\d.*", name):
            continue
        # a label list after by/without/on/... is handled below; skip names inside (...)
        before = e[: m.start()].rstrip()
        if re.search(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$", before):
            continue
        # e, 1e-9 etc.
        if re.fullmatch(r"[eE]", name) and re.search(r"\d$", before):
            continue
        labels = metric_labels(name)
        if not check(labels is not None, f"{where}: {name} is not an exporter metric"):
            continue
        used_metrics.append(name)
        if matchers:
            for lm in re.finditer(r"([a-zA-Z_]\w*)\s*(=~|!~|!=|=)", matchers):
                check(lm.group(1) in labels | TARGET_LABELS, f"{where}: {name} has no label {lm.group(1)}")
    # label lists: every label must exist on at least one metric of the expression
    avail = set(TARGET_LABELS)
    for n in used_metrics:
        avail |= metric_labels(n)
    for m in re.finditer(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", e):
        for label in filter(None, (l.strip() for l in m.group(2).split(","))):
            check(label in avail, f"{where}: label {label} in {m.group(1)}() is on none of {used_metrics}")
    check(e.count("(") == e.count(")"), f"{where}: unbalanced parentheses")
    return used_metrics


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def check_dashboard(path):
    with open(path) as f:
        try:
            dash = json.load(f)
        except json.JSONDecodeError as e:
            check(False, f"{path} is not valid JSON: {e}")
            return
    panels = list(walk_panels(dash.get("panels", [])))
    check(len(panels) > 0, "dashboard has no panels")
    ids = [p["id"] for p in panels]
    check(len(ids) == len(set(ids)), "panel ids are not unique")
    by_metric = {}
    for p in panels:
        if p["type"] == "row":
            continue
        targets = p.get("targets", [])
        check(len(targets) > 0, f"panel '{p['title']}' has no query")
        for t in targets:
            check("expr" in t, f"panel '{p['title']}': a target with no expr")
            for n in check_expr(t.get("expr", ""), f"panel '{p['title']}'"):
                by_metric.setdefault(n, []).append((p, t))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query":
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q or "")
            if check(m is not None, f"variable {v['name']}: query {q} is not label_values(metric, label)"):
                labels = metric_labels(m.group(1))
                check(labels is not None and m.group(2) in labels | TARGET_LABELS,
                      f"variable {v['name']}: {m.group(1)} has no label {m.group(2)}")
    state = [v for v in dash["templating"]["list"] if v["name"] == "state"]
    check(len(state) == 1 and state[0]["query"].split(",") == STATES, f"$state variable must hold {STATES}")

    heat = [(p, t) for p, t in by_metric.get("tcplinger_residency_seconds_bucket", []) if p["type"] == "heatmap"]
    check(len(heat) >= 1, "no heatmap over tcplinger_residency_seconds_bucket")
    for p, t in heat:
        check(t.get("format") == "heatmap", f"heatmap '{p['title']}': target format must be heatmap")
        check(re.search(r"by \(le\)", t["expr"]) is not None, f"heatmap '{p['title']}': sum by (le)")
        check('state="$state"' in t["expr"] and p.get("repeat") == "state",
              f"heatmap '{p['title']}': one per state (repeat over $state)")
        check(p.get("options", {}).get("calculate") is False, f"heatmap '{p['title']}': buckets come pre-computed")

    def has(metric, kind_test):
        return any(kind_test(t["expr"]) for _, t in by_metric.get(metric, []))

    check(has("tcplinger_sockets", lambda e: 'state="TIME-WAIT"' in e and "by (comm)" in e), "no TIME-WAIT per comm panel")
    check(has("tcplinger_oldest_socket_age_seconds", lambda e: 'state="CLOSE-WAIT"' in e), "no oldest CLOSE-WAIT panel")
    check("tcplinger_port_headroom" in by_metric, "no headroom panel")
    check("tcplinger_events_lost_total" in by_metric, "no tracer losses panel")


def check_rules(path):
    with open(path) as f:
        rules = yaml.safe_load(f)
    n = 0
    for g in rules["groups"]:
        for r in g["rules"]:
            check_expr(r["expr"], f"rule {r.get('alert') or r.get('record')}")
            n += 1
    check(n > 0, "no rules")


def main():
    check_dashboard(sys.argv[1])
    check_rules(sys.argv[2])
    return report_errors("check_dashboard", "dashboard and rules use only exporter metrics and labels")


if __name__ == "__main__":
    sys.exit(main())
