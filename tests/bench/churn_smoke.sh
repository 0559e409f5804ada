#!/usr/bin/env bash
# Smoke test for tl_churn: about one second of churn in a private network
# namespace; passes if it exits 0 and prints a rate. No timing assertions:
# speed is measured by scripts/bench, never asserted in tests.
set -euo pipefail
churn=${1:?usage: churn_smoke.sh PATH/TO/tl_churn}
ns=tlbench-smoke-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
out=$(ip netns exec "$ns" "$churn" --duration 1 --threads 2)
echo "$out"
grep -Eq '^connections=[1-9][0-9]* seconds=[0-9.]+ rate=[1-9][0-9]* ' <<<"$out"
