#!/usr/bin/env bash
# systemd-analyze verify on the installed units, with ExecStart pointing at
# the binary installed into a DESTDIR and MANPATH at the installed man pages
# (verify runs `man` for every Documentation= entry). Any output fails: verify
# exits 0 on unknown keys or bad values and only prints a warning.
# Usage: verify_units.sh BUILD_DIR PREFIX SBINDIR MANDIR UNITDIR
set -euo pipefail
build=$1 prefix=$2 sbindir=$3 mandir=$4 unitdir=$5
command -v systemd-analyze >/dev/null || { echo "verify_units: systemd-analyze missing: apt-get install systemd" >&2; exit 1; }
dest=$(mktemp -d /tmp/tl-units.XXXXXX)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest/root cmake --install "$build" >/dev/null
mkdir "$dest/units"
for unit in tcplinger-exporter.service tcplinger-record.service; do
  sed "s|^ExecStart=$sbindir/|ExecStart=$dest/root$sbindir/|" "$dest/root$prefix/$unitdir/$unit" >"$dest/units/$unit"
done
out=$(cd "$dest/units" && MANPATH=$dest/root$mandir SYSTEMD_LOG_COLOR=0 \
      systemd-analyze verify tcplinger-exporter.service tcplinger-record.service 2>&1) && rc=0 || rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
  echo "$out" >&2
  echo "verify_units: systemd-analyze verify failed (exit $rc) or warned: see above" >&2
  exit 1
fi
echo "verify_units: both units verify clean"
