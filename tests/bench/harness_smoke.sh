#!/usr/bin/env bash
# Smoke test for scripts/bench itself (issue 5: it runs after scripts/bootstrap
# and prints the table): one short round of baseline and stats from an
# existing build. Checks the table, the zero-loss columns and the target lines
# are there; no timing assertion (speed is measured, never asserted).
set -euo pipefail
src=${1:?usage: harness_smoke.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: harness_smoke.sh SOURCE_DIR BUILD_DIR}
out=$("$src/scripts/bench" --no-build --build-dir "$build" --modes stats --rounds 1 \
  --connections 2000 --sustain 0 --idle-wait 0 2>&1)
echo "$out"
fail() { echo "harness_smoke: $*" >&2; exit 1; }
grep -q '^== churn: 2000 connections per run' <<<"$out" || fail "no churn table"
grep -Eq '^baseline +1 +[1-9][0-9]* +1\.00 ' <<<"$out" || fail "no baseline row"
# stats row: runs, conn/s, ratio, ev/conn > 0, ..., ringbuf 0, rec.lost 0, evicted 0/0
row=$(grep -E '^stats +1 ' <<<"$out") || fail "no stats row"
read -r _ _ rate _ evconn _ _ _ ringbuf _ _ reclost evicted _ <<<"$row"
[ "$rate" -gt 0 ] || fail "stats rate $rate"
awk -v e="$evconn" 'BEGIN {exit !(e > 0)}' || fail "stats produced no events ($evconn per connection)"
[ "$ringbuf" = 0 ] && [ "$reclost" = 0 ] && [ "$evicted" = 0/0 ] || fail "loss in a 2000-connection run: $row"
grep -Eq '^churn +stats +ratio [0-9.]+ \(target >= 0\.90\) (PASS|FAIL); lost\+evicted 0 PASS' <<<"$out" ||
  fail "no target line for stats"

# --compare (the build against itself) and the timers row: both tables print,
# with a paired stats row (two runs, zero loss on both sides) and a timers row
# with all three figures. No timing assertion.
out=$("$src/scripts/bench" --no-build --build-dir "$build" --compare "$build" --modes stats,timers --rounds 2 \
  --connections 2000 --timer-trips 2000 --sustain 0 --idle-wait 0 2>&1)
echo "$out"
grep -q '^== churn, before (.*) vs after (.*): 2000 connections per run, 2 paired rounds' <<<"$out" ||
  fail "no compare table"
grep -Eq '^baseline +2 +1\.00 +1\.00 ' <<<"$out" || fail "no baseline row in the compare table"
row=$(grep -E '^stats +2 +[0-9]' <<<"$out") || fail "no paired stats row"
grep -Eq ' 0/0 +[0-9]+ +[0-9]+$' <<<"$row" || fail "paired stats row without zero loss or wakeups: $row"
[ "$(grep -c '^bench: stats:before round' <<<"$out")" = 2 ] && [ "$(grep -c '^bench: stats:after round' <<<"$out")" = 2 ] ||
  fail "not one run per build and round"
for w in pingpong keepalive; do
  grep -Eq "^$w +[1-9][0-9]* \\[[0-9]+-[0-9]+\\] +[1-9][0-9]* \\[[0-9]+-[0-9]+\\] +[1-9][0-9]* \\[[0-9]+-[0-9]+\\] +[-+][0-9.]+%" <<<"$out" ||
    fail "no timers row for $w (no tracer, before, after, change)"
done
