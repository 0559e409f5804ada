#!/usr/bin/env bash
# scripts/check-layers passes on the tree, and fails on a copy of user/ into
# which a back edge (stats/ including capture/, the edge this layout removed)
# was put back. Proves the CI check can fail.
set -euo pipefail
src="$1"
"$src/scripts/check-layers" "$src"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/user" "$tmp/user"
sed -i '0,/#include "core\/counters.hpp"/s//#include "capture\/tracer.hpp"/' "$tmp/user/stats/aggregator.hpp"
grep -q '#include "capture/tracer.hpp"' "$tmp/user/stats/aggregator.hpp"
if out="$("$src/scripts/check-layers" "$tmp" 2>&1)"; then
  echo "check_layers_test: a back edge stats/ -> capture/ was not caught" >&2
  exit 1
fi
grep -q 'user/stats/aggregator.hpp:[0-9]*: stats/ includes capture/' <<<"$out" || {
  echo "check_layers_test: the failure does not name the edge: $out" >&2
  exit 1
}
echo "check_layers_test: ok (the tree passes, a back edge fails)"
