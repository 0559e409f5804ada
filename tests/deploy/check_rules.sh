#!/usr/bin/env bash
# promtool check rules + promtool test rules on deploy/prometheus (Debian's
# prometheus package ships promtool). The unit tests assert the exact alerts,
# labels and annotations, including the series that must not fire.
# Usage: check_rules.sh PROMTOOL DIR
set -euo pipefail
promtool=$1 dir=$2
command -v "$promtool" >/dev/null || { echo "check_rules: promtool missing: apt-get install prometheus" >&2; exit 1; }
cd "$dir"
"$promtool" check rules tcplinger-rules.yml
"$promtool" test rules tcplinger-rules.test.yml
