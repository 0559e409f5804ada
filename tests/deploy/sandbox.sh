#!/bin/sh
# Runs "$@" the way the units' file-system sandbox leaves the machine, as far
# as it can be had without systemd: a private mount namespace where every
# mount is read-only (ProtectSystem=strict, ProtectKernelTunables,
# ProtectControlGroups), a fresh /tmp (PrivateTmp) and empty /home and /root
# (ProtectHome). Mounts that refuse the remount (devices) stay as they are.
# TL_SANDBOX_RW=DIR stays writable (StateDirectory=).
exec unshare -m --propagation private sh -c '
  for m in $(awk "{print \$2}" /proc/self/mounts | sort -u); do mount -o remount,bind,ro "$m" 2>/dev/null; done
  mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o ro tmpfs /home && mount -t tmpfs -o ro tmpfs /root ||
    { echo "sandbox: failed to mount the tmpfs for /tmp, /home, /root" >&2; exit 2; }
  if [ -n "$TL_SANDBOX_RW" ]; then mount --bind "$TL_SANDBOX_RW" "$TL_SANDBOX_RW" && mount -o remount,bind,rw "$TL_SANDBOX_RW" ||
    { echo "sandbox: failed to keep $TL_SANDBOX_RW writable" >&2; exit 2; }; fi
  touch /tl-sandbox-probe 2>/dev/null && { echo "sandbox: / is still writable" >&2; exit 2; }
  exec "$@"' sh "$@"
