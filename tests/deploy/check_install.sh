#!/usr/bin/env bash
# `cmake --install` into a DESTDIR: exactly the binary, every man page and the
# two systemd units land where the distribution expects them, the binary
# runs from there and the units start that binary.
# Usage: check_install.sh BUILD_DIR PREFIX SBINDIR MANDIR UNITDIR MAN_SOURCES_DIR
set -euo pipefail
build=$1 prefix=$2 sbindir=$3 mandir=$4 unitdir=$5 mansrc=$6
dest=$(mktemp -d /tmp/tl-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "check_install: $*" >&2; exit 1; }

DESTDIR=$dest cmake --install "$build" >/dev/null

expected=("$sbindir/tcplinger" "$prefix/$unitdir/tcplinger-exporter.service" "$prefix/$unitdir/tcplinger-record.service")
for src in "$mansrc"/*.8.in; do
  page=$(basename "$src" .in)
  expected+=("$mandir/man8/$page")
done
want=$(printf '%s\n' "${expected[@]}" | sort)
got=$(cd "$dest" && find . -type f -o -type l | sed 's|^\.||' | sort)
if [ "$want" != "$got" ]; then
  diff <(echo "$want") <(echo "$got") >&2 || true
  fail "installed files differ from the expected list (< expected, > installed)"
fi

bin=$dest$sbindir/tcplinger
[ -x "$bin" ] || fail "$bin is not executable"
"$bin" --help >/dev/null || fail "the installed binary does not run: $bin --help"

for unit in tcplinger-exporter.service tcplinger-record.service; do
  f=$dest$prefix/$unitdir/$unit
  grep -q '@' <(grep -v '^#' "$f" | grep -v 'user@') && fail "$unit has an unsubstituted @VAR@"
  exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$f")
  [ "$exec_start" = "$sbindir/tcplinger" ] || fail "$unit starts '$exec_start', not the installed $sbindir/tcplinger"
done

for page in "$dest$mandir"/man8/*.8; do
  grep -q '^\.so ' "$page" && fail "$page still has a .so include (installed pages must stand alone)"
done
echo "check_install: ${#expected[@]} files installed as expected under $prefix"
