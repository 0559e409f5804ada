#!/usr/bin/env bash
# Every command's man page renders without groff warnings and names every long
# option that the command's --help lists, so the pages cannot drift from the tool.
# Usage: check_man.sh TCPLINGER_BINARY MAN_DIR
set -euo pipefail
bin=$1 dir=$2
fail=0
for page in "$dir"/*.8; do
  warn=$(groff -man -ww -z -Tutf8 "$page" 2>&1 || true)
  if [ -n "$warn" ]; then echo "man: $page: groff warns: $warn"; fail=1; fi
done
cmds=$("$bin" --help | awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}')
[ -n "$cmds" ] || { echo "man: no subcommands found in '$bin --help'"; exit 1; }
for cmd in "" $cmds; do
  page="$dir/tcplinger${cmd:+-$cmd}.8"
  [ -f "$page" ] || { echo "man: no page for '${cmd:-tcplinger}' ($page)"; fail=1; continue; }
  # shellcheck disable=SC2086
  opts=$("$bin" $cmd --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | grep -vx -- --help)
  for o in $opts; do
    esc=${o//-/\\\\-}
    grep -q -- "$esc" "$page" || { echo "man: $page does not document $o"; fail=1; }
  done
done
[ $fail -eq 0 ] && echo "man: every page renders cleanly and documents every option"
exit $fail
