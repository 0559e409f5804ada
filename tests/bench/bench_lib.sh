# shellcheck shell=bash
# Functions for scripts/bench (sourced; uses its globals: BIN CHURN NS NSPATH
# WORK RESULTS CHURN_ARGS RUN_MODES SUSTAIN CONNECTIONS ...).
# One run = flush TIME-WAIT, start the tracer (unless baseline), wait until its
# programs are attached, churn, read the tracer's counters, stop it with SIGINT.

make_netns() {
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  # Namespace-local sysctls only: a wide ephemeral range so ports do not run
  # out, and accept queues deep enough for --memory's held connections.
  ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
    net.core.somaxconn=1048576 net.ipv4.tcp_max_syn_backlog=65536
}

# Every run starts without TIME-WAIT sockets, as a fresh machine would: the
# previous run's would otherwise be reused or overflow tcp_max_tw_buckets and
# change both the rate and the events per connection. Needs
# CONFIG_INET_DIAG_DESTROY; without it runs start from what is left.
flush_timewait() {
  ip netns exec "$NS" ss -K -t state time-wait >/dev/null 2>&1 || true
}

# Share of all CPUs busy over half a second while nothing of ours runs: other
# work on the machine skews every figure, so each run records it.
background_busy() {
  local u n s i w q sq st t1 i1 t2 i2
  read -r _ u n s i w q sq st _ </proc/stat
  t1=$((u + n + s + i + w + q + sq + st)) i1=$((i + w))
  sleep 0.5
  read -r _ u n s i w q sq st _ </proc/stat
  t2=$((u + n + s + i + w + q + sq + st)) i2=$((i + w))
  echo $((100 * ((t2 - t1) - (i2 - i1)) / (t2 - t1 > 0 ? t2 - t1 : 1)))
}

# Waits (within the run's total --idle-wait budget) until other work leaves
# the CPUs nearly idle; BUSY is the background busy % it ended with.
wait_idle() {
  BUSY=$(background_busy)
  while [ "$BUSY" -gt 10 ] && [ "$IDLE_BUDGET" -gt 0 ]; do
    sleep 1.5
    IDLE_BUDGET=$((IDLE_BUDGET - 2))
    BUSY=$(background_busy)
  done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# One line per thread of PID: tid comm cpu_ns (user+sys, from schedstat's
# sum_exec_runtime: ns, where stat's utime+stime count 10 ms ticks).
task_cpu() {  # PID
  local t ns comm
  for t in /proc/"$1"/task/*; do
    read -r ns _ <"$t/schedstat" 2>/dev/null || continue
    comm=$(cat "$t/comm" 2>/dev/null) || continue
    echo "${t##*/} ${comm// /_} $ns"
  done
}

# The refreshes the tracer reported on stderr so far (-v): the poller's
# passes and top's frames.
refresh_lines() {  # ERRFILE -> "passes pass_ms_sum frames frame_ms_sum"
  awk '/^tcplinger: host pass .* took [0-9.]+ ms/ {p++; ps += $(NF - 1)}
       /^tcplinger: frame .* took [0-9.]+ ms CPU/ {f++; fs += $(NF - 2)}
       END {printf "%d %.1f %d %.1f\n", p, ps, f, fs}' "$1"
}

start_tracer() {  # PREFIX STDOUT CMD...
  local prefix=$1 out=$2
  shift 2
  # The subshell's `times` reports the tracer's user+sys from rusage once it
  # has exited, the final drain included.
  ( "$@" >"$out" 2>"$prefix.err" &
    echo $! >"$prefix.pid"
    wait $! && echo 0 >"$prefix.rc" || echo $? >"$prefix.rc"
    times >"$prefix.times" ) &
  TRACER_SUB=$!
  while [ ! -s "$prefix.pid" ]; do sleep 0.01; done
  TRACER_PID=$(cat "$prefix.pid")
  local i
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$TRACER_PID" 2>/dev/null; then
      echo "bench: tracer exited early: $*" >&2
      cat "$prefix.err" >&2
      exit 1
    fi
    # The readiness line: attached, ring buffer set up, snapshot taken.
    grep -q '^tcplinger: tracing (attached ' "$prefix.err" && break
    sleep 0.05
  done
  ATTACH_TICKS=$(cpu_ticks "$TRACER_PID")
  task_cpu "$TRACER_PID" >"$prefix.tasks0"
  refresh_lines "$prefix.err" >"$prefix.refresh0"
}

# name run_time_ns run_cnt recursion_misses, one line per BPF program of PID
prog_stats() {
  local fd id name
  find "/proc/$1/fd" -lname 'anon_inode:bpf-prog' -printf '%f\n' 2>/dev/null | while read -r fd; do
    id=$(awk '/^prog_id:/{print $2}' "/proc/$1/fdinfo/$fd")
    [ -n "$id" ] || continue
    name=$(bpftool prog show id "$id" 2>/dev/null | sed -n '1s/.* name \([^ ]*\) .*/\1/p')
    awk -v n="${name:-id$id}" '/^run_time_ns:/{t=$2} /^run_cnt:/{c=$2} /^recursion_misses:/{m=$2}
         END{print n, t+0, c+0, m+0}' "/proc/$1/fdinfo/$fd"
  done | sort -u
}

# name max_entries memlock_bytes, one line per BPF map of PID
map_stats() {
  local fd id name
  find "/proc/$1/fd" -lname 'anon_inode:bpf-map' -printf '%f\n' 2>/dev/null | while read -r fd; do
    id=$(awk '/^map_id:/{print $2}' "/proc/$1/fdinfo/$fd")
    [ -n "$id" ] || continue
    name=$(bpftool map show id "$id" 2>/dev/null | sed -n '1s/.* name \([^ ]*\) .*/\1/p')
    awk -v n="${name:-id$id}" '/^max_entries:/{e=$2} /^memlock:/{m=$2} END{print n, e+0, m+0}' \
      "/proc/$1/fdinfo/$fd"
  done | sort -u
}

# Sum over CPUs of one field of the tracer's BPF drop counters, read live.
bpf_counter() {  # PID FIELD
  local id
  id=$(map_ids "$1" counters)
  [ -n "$id" ] || { echo "?"; return; }
  bpftool map dump id "$id" 2>/dev/null | awk -v f="\"$2\":" '$1 == f {gsub(",", "", $2); s += $2} END {print s + 0}'
}

map_ids() {  # PID NAME: ids of the maps of PID called NAME
  local fd id
  find "/proc/$1/fd" -lname 'anon_inode:bpf-map' -printf '%f\n' 2>/dev/null | while read -r fd; do
    id=$(awk '/^map_id:/{print $2}' "/proc/$1/fdinfo/$fd")
    [ -n "$id" ] && bpftool map show id "$id" 2>/dev/null | grep -q " name $2 " && echo "$id"
  done | sort -u
}

# Field N of the tracer's exit line, found by the words around it:
# "tcplinger: E events, L lost (ring buffer R, recursion C), N nested hits
#  recovered, V sockets evicted (bpf B, engine G); recursion hits: ..." (the
#  first match of each pattern is taken: the detail after ';' is not read)
drop_field() {  # ERRFILE REGEX
  local v
  v=$(grep -E 'events,' "$1" | tail -1 | grep -oE "$2" | grep -oE '[0-9]+' | head -1)
  echo "${v:-?}"
}

# Children's user+sys in ms from the output of bash's `times` (line 2:
# "XmY.YYYs XmY.YYYs").
times_ms() {  # FILE
  sed -n 2p "$1" |
    awk '{ms = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); ms += (a[1] * 60 + a[2]) * 1000 }
          printf "%.0f", ms}'
}

stop_tracer() {  # PREFIX -> sets T_* globals
  local prefix=$1 p=$TRACER_PID
  T_HWM=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status")
  # Sleeps the tracer woke from (poll timeouts and ring buffer wakeups): how
  # often the BPF side woke it beyond the 50 ms poll. All its threads.
  T_WAKEUPS=$(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches:/ {s += $2} END {print s + 0}')
  prog_stats "$p" >"$prefix.progs"
  task_cpu "$p" >"$prefix.tasks1"
  refresh_lines "$prefix.err" >"$prefix.refresh1"
  kill -INT "$p"
  wait "$TRACER_SUB" || true
  TRACER_PID="" TRACER_SUB=""
  local total_ms
  total_ms=$(times_ms "$prefix.times")
  T_CPU_MS=$((total_ms - ATTACH_TICKS * 1000 / $(getconf CLK_TCK)))
  [ "$T_CPU_MS" -lt 0 ] && T_CPU_MS=0
  T_EVENTS=$(drop_field "$prefix.err" '[0-9]+ events')
  T_RINGBUF=$(drop_field "$prefix.err" 'ring buffer [0-9]+')
  T_RECURSION=$(drop_field "$prefix.err" 'recursion [0-9]+')
  T_NESTED=$(drop_field "$prefix.err" '[0-9]+ nested')
  T_EV_BPF=$(drop_field "$prefix.err" 'bpf [0-9]+')
  T_EV_ENGINE=$(drop_field "$prefix.err" 'engine [0-9]+')
  # The kernel's own count of skipped nested runs, primaries and backups.
  T_KMISS_PRIMARY=$(awk '$1 !~ /_nested$/ {s += $4} END {print s + 0}' "$prefix.progs")
  T_KMISS_BACKUP=$(awk '$1 ~ /_nested$/ {s += $4} END {print s + 0}' "$prefix.progs")
  # CPU per thread from readiness to just before SIGINT (the final drain is
  # not in it): the capture loop (the main thread), the host poller, the rest
  # (the exporter's HTTP threads); and the refreshes made meanwhile.
  T_SPLIT=$(awk -v pid="$p" 'NR == FNR {a[$1] = $3; next}
      {d = ($3 - a[$1]) / 1e6; if ($1 == pid) l += d; else if ($2 == "tl-host-poll") q += d; else o += d}
      END {printf "%.1f %.1f %.1f", l, q, o}' "$prefix.tasks0" "$prefix.tasks1")
  T_SPLIT="$T_SPLIT $(awk 'NR == FNR {for (i = 1; i <= 4; i++) a[i] = $i; next}
      {printf "%d %.1f %d %.1f", $1 - a[1], $2 - a[2], $3 - a[3], $4 - a[4]}' "$prefix.refresh0" "$prefix.refresh1")"
  if [ "$(cat "$prefix.rc")" != 0 ]; then
    echo "bench: tracer exited with status $(cat "$prefix.rc"):" >&2
    cat "$prefix.err" >&2
  fi
}

bpf_stats() {  # on|off
  if [ "$1" = on ]; then
    [ -n "$BPF_STATS_OLD" ] || BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
    sysctl -qw kernel.bpf_stats_enabled=1
  elif [ -n "$BPF_STATS_OLD" ]; then
    sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
    BPF_STATS_OLD=""
  fi
}

# --compare: the build suffixes MODE runs with in ROUND, in order. Both builds
# back to back, before first in odd rounds, after first in even ones, so
# neither always runs on the machine the other just warmed (or loaded).
# "-" stands for no suffix (one run, of --build-dir's binary or of none).
builds_for() {  # MODE ROUND
  if [ -z "$COMPARE" ] || [ "$1" = baseline ]; then
    echo "-"
  elif (($2 % 2)); then
    echo ":before :after"
  else
    echo ":after :before"
  fi
}

tracer_cmd() {  # MODE[:before|:after] TAG -> TRACER_CMD array
  # shellcheck disable=SC2034  # BIN is the caller's; a local copy for this call
  local BIN=$BIN
  [ "${1#*:}" = before ] && BIN=$BEFORE_BIN
  tracer_cmd_of "$@"
  # --tracer-args, split on blanks
  # shellcheck disable=SC2206
  [ ${#TRACER_CMD[@]} -gt 0 ] && [ -n "${TRACER_ARGS:-}" ] && TRACER_CMD+=($TRACER_ARGS)
  return 0
}

tracer_cmd_of() {  # MODE TAG -> TRACER_CMD array (BIN: the build's binary)
  case ${1%%:*} in
    baseline) TRACER_CMD=() ;;
    stats) TRACER_CMD=("$BIN" stats --netns "$NSPATH") ;;
    # -v (here: after the libbpf log at load) prints each host pass's time,
    # and top's each frame's: the refresh table counts them
    exporter) TRACER_CMD=("$BIN" exporter -v --netns "$NSPATH" --listen "127.0.0.1:$EXPORTER_PORT") ;;
    # top's batch mode, one refresh a second: the screen's work without a terminal
    top) TRACER_CMD=("$BIN" top -v -b -d 1 --netns "$NSPATH") ;;
    floor) TRACER_CMD=("$FLOOR_BIN" stats --netns "$NSPATH") ;;
    trace) TRACER_CMD=("$BIN" trace -j --netns "$NSPATH") ;;
    record) TRACER_CMD=("$BIN" record -o "$WORK/rec-$2" --netns "$NSPATH") ;;
  esac
}

run_one() {  # KIND MODE ROUND CHURN-ARGS...
  local kind=$1 mode=$2 round=$3
  shift 3
  local tag=$kind-$mode-$round base=${mode%%:*}
  local prefix=$WORK/$tag line out=/dev/null
  [ "$base" = stats ] || [ "$base" = top ] && out=$prefix.out
  tracer_cmd "$mode" "$tag"
  flush_timewait
  wait_idle
  [ "$kind" = bpfstats ] && bpf_stats on
  [ ${#TRACER_CMD[@]} -gt 0 ] && start_tracer "$prefix" "$out" "${TRACER_CMD[@]}"
  # The exporter is scraped every second, as Prometheus would.
  [ "$base" = exporter ] && start_scraper "http://127.0.0.1:$EXPORTER_PORT/metrics" "$prefix.scrape"
  # The churn's own CPU (user+sys) too: BPF programs run in its context (its
  # syscalls and the loopback softirqs it raises), and CPU per connection,
  # unlike the rate, hardly depends on what else the machine runs.
  line=$(ip netns exec "$NS" "$CHURN" "${CHURN_ARGS[@]}" "$@" && times >"$prefix.churn-times")
  stop_scraper
  echo "$line" >"$prefix.churn"
  T_CPU_MS=0 T_HWM=0 T_EVENTS=0 T_RINGBUF=0 T_RECURSION=0 T_NESTED=0 T_EV_BPF=0 T_EV_ENGINE=0
  T_KMISS_PRIMARY=0 T_KMISS_BACKUP=0 T_WAKEUPS=0 T_SPLIT="0 0 0 0 0 0 0"
  local bytes=0
  if [ ${#TRACER_CMD[@]} -gt 0 ]; then
    sleep 0.3  # the tracer's last poll
    stop_tracer "$prefix"
    if [ "$base" = record ]; then
      bytes=$(du -sb "$WORK/rec-$tag" 2>/dev/null | cut -f1)
      rm -rf "$WORK/rec-$tag"
    fi
  fi
  [ "$kind" = bpfstats ] && bpf_stats off
  local conns secs rate errors
  conns=$(grep -oE 'connections=[0-9]+' <<<"$line" | cut -d= -f2)
  secs=$(grep -oE 'seconds=[0-9.]+' <<<"$line" | cut -d= -f2)
  rate=$(grep -oE 'rate=[0-9]+' <<<"$line" | cut -d= -f2)
  errors=$(grep -oE 'errors=[0-9]+' <<<"$line" | cut -d= -f2)
  printf '%s\n' "$kind $mode $round $conns $secs $rate $errors $T_EVENTS $T_CPU_MS ${T_HWM:-0} $T_RINGBUF \
$T_RECURSION $T_NESTED $T_EV_BPF $T_EV_ENGINE $T_KMISS_PRIMARY $T_KMISS_BACKUP ${bytes:-0} $BUSY \
$(times_ms "$prefix.churn-times") $T_WAKEUPS $T_SPLIT" >>"$RESULTS"
}

progress() {  # MODE ROUND
  local last ROUND_LABEL=$2
  [[ $2 =~ ^[0-9]+$ ]] && ROUND_LABEL="round $2"
  last=$(tail -1 "$RESULTS")
  # shellcheck disable=SC2086
  set -- $last
  printf 'bench: %-8s %-14s %7s conn/s %9s events %6s ms CPU, lost: ringbuf %s recursion %s (misses %s, recovered %s), evicted %s/%s; background %s%%\n' \
    "$2" "$ROUND_LABEL" "$6" "$8" "$9" "${11}" "${12}" "${16}" "${13}" "${14}" "${15}" "${19}" >&2
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
                                              else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# One summary line per mode for runs of KIND.
summarize() {  # KIND
  local kind=$1 base m med
  base=$(awk -v k="$kind" '$1 == k && $2 == "baseline" {print $6}' "$RESULTS" | median)
  printf '%-9s %4s %7s %5s %7s %9s %5s %7s %7s %8s %9s %8s %11s %4s\n' mode runs conn/s ratio ev/conn \
    'CPUms/Mev' 'CPU%' 'RSS MiB' ringbuf rec.miss recovered rec.lost 'evicted b/e' 'bg%'
  for m in "${RUN_MODES[@]}"; do
    med=$(awk -v k="$kind" -v m="$m" '$1 == k && $2 == m {print $6}' "$RESULTS" | median)
    bg=$(awk -v k="$kind" -v m="$m" '$1 == k && $2 == m {print $19}' "$RESULTS" | median)
    awk -v k="$kind" -v m="$m" -v med="$med" -v base="$base" -v bg="$bg" '
      $1 == k && $2 == m {
        n++; conns += $4; secs += $5; ev += $8; cpu += $9; if ($10 > hwm) hwm = $10
        rb += $11; rec += $12; nest += $13; eb += $14; ee += $15; km += $16; unk += ($8 == "?" || $11 == "?")
      }
      END {
        if (!n) exit
        ratio = base > 0 ? sprintf("%.2f", med / base) : "-"
        if (m == "baseline") {
          printf "%-9s %4d %7d %5s %7s %9s %5s %7s %7s %8s %9s %8s %11s %4d\n", m, n, med, ratio, "-", "-", "-", "-",
            "-", "-", "-", "-", "-", bg
          exit
        }
        printf "%-9s %4d %7d %5s %7.1f %9.0f %5.1f %7.1f %7s %8s %9s %8s %11s %4d%s\n", m, n, med, ratio,
          conns ? ev / conns : 0, ev ? cpu / ev * 1e6 : 0, secs ? cpu / secs / 10 : 0, hwm / 1024,
          rb, km, nest, rec, eb "/" ee, bg, unk ? "  (exit line not parsed)" : ""
      }' "$RESULTS"
  done
}

print_table() {
  local label
  label="$CONNECTIONS connections per run, median of $ROUNDS alternating rounds"
  echo "== churn: $label (tl_churn ${CHURN_ARGS[*]})"
  summarize churn
  if grep -q '^sustain ' "$RESULTS"; then
    echo
    echo "== sustained: one ${SUSTAIN} s flat-out run per mode"
    summarize sustain
  fi
  if grep -qE '^(churn|sustain) (top|exporter) ' "$RESULTS"; then
    echo
    echo "== refresh: the tracer's CPU per thread (schedstat), readiness to SIGINT, sums over the runs"
    print_split churn "churn"
    if grep -q '^sustain ' "$RESULTS"; then print_split sustain "sustained"; fi
  fi
  if grep -q '^bpfstats ' "$RESULTS"; then
    echo
    print_bpf_stats
  fi
  print_record_bytes
  echo
  print_legend
  print_targets
}

# The modes that refresh (top, exporter) next to stats: the capture loop's
# CPU per event apart from what each refresh costs.
print_split() {  # KIND LABEL
  local kind=$1 m
  printf '%-10s %-9s %4s %9s %10s %9s %6s %8s %8s %6s %8s %8s %8s\n' "$2" mode runs events 'loopMs/Mev' \
    'capt/Mev' passes 'poll ms' 'ms/pass' frames 'ms/frame' 'other ms' 'exit ms'
  for m in "${RUN_MODES[@]}"; do
    case $m in stats | top | exporter) ;; *) continue ;; esac
    awk -v k="$kind" -v m="$m" -v label="$2" '
      $1 == k && $2 == m { n++; ev += $8; loop += $22; poll += $23; other += $24; passes += $25; frames += $27; fms += $28; tot += $9 }
      END {
        if (!n) exit
        printf "%-10s %-9s %4d %9d %10.0f %9.0f %6d %8.1f %8s %6d %8s %8.1f %8.0f\n", label, m, n, ev,
          ev ? loop / ev * 1e6 : 0, ev ? (loop - fms) / ev * 1e6 : 0, passes, poll,
          passes ? sprintf("%.1f", poll / passes) : "-", frames, frames ? sprintf("%.1f", fms / frames) : "-", other,
          tot - loop - poll - other
      }' "$RESULTS"
  done
}

print_record_bytes() {
  if grep -q '^churn record ' "$RESULTS"; then
    awk '$1 == "churn" && $2 == "record" {b += $18; e += $8} END {if (e) printf "\nrecord: %.1f bytes per event on disk\n", b / e}' "$RESULTS"
  fi
}

print_legend() {
  cat <<'EOF'
ratio: median conn/s over the baseline's. ev/conn: events the BPF side produced per
connection. CPUms/Mev and CPU%: user+sys of the tcplinger process (rusage, start-up
excluded) per million events, and as a share of one CPU over the churn. RSS: peak
(VmHWM). ringbuf: events lost to a full ring buffer. rec.miss: tracepoint hits the
kernel skipped because the primary program was already running on that CPU
(recursion_misses); recovered: those the backup programs handled; rec.lost: what the
tracer reports lost. evicted: sockets missing from the BPF map (b) or the userspace
table (e). Losses are sums over all runs. bg%: CPU busy with other work just before
each run (median): anything above a few % makes the figures pessimistic.
EOF
  grep -qE '^(churn|sustain) (top|exporter) ' "$RESULTS" || return 0
  cat <<'EOF'

refresh: loopMs/Mev: the main thread (the capture loop: ring buffer, engine, and top's
frames) per million events; capt/Mev: the same less the frames' own CPU, the capture's
per-event cost. passes: the host poller's (thread tl-host-poll) passes in the runs;
poll ms: that thread's CPU; ms/pass: per pass. frames: top's refreshes (-v lines);
ms/frame: the loop's CPU per frame (taking the pass, building, printing). other: the
remaining threads (the exporter's HTTP server, scrapes included). exit: the rest of
CPUms (rusage, whole process), spent after SIGINT: the last drain, stopping, freeing.
EOF
}

print_bpf_stats() {
  echo "== BPF programs (kernel.bpf_stats_enabled=1, one $CONNECTIONS-connection run per mode)"
  printf '%-9s %-26s %12s %10s %8s %10s\n' mode program run_cnt ns/run 'ms total' rec.misses
  local m f conns
  awk '$1 == "bpfstats" {print $2}' "$RESULTS" | while read -r m; do
    f=$WORK/bpfstats-$m-0.progs
    [ -f "$f" ] || continue
    conns=$(awk -v m="$m" '$1 == "bpfstats" && $2 == m {print $4}' "$RESULTS")
    awk -v m="$m" -v conns="$conns" '$3 > 0 || $4 > 0 {
        printf "%-9s %-26s %12d %10.0f %8.1f %10d\n", m, $1, $3, $3 ? $2 / $3 : 0, $2 / 1e6, $4
        t += $2 }
      END { if (conns) printf "%-9s %-26s %12s %10s %8.1f   = %.0f ns BPF per connection\n", m, "all", "", "", t / 1e6, t / conns }' "$f"
  done
}

print_targets() {
  echo
  # With --compare the targets are the after build's.
  local sfx=${COMPARE:+:after}
  echo "== targets (issue 5)${sfx:+, after build}"
  local m base med ratio lost want kind
  for kind in churn sustain; do
    base=$(awk -v k="$kind" '$1 == k && $2 == "baseline" {print $6}' "$RESULTS" | median)
    [ "$base" -gt 0 ] 2>/dev/null || continue
    for m in "${RUN_MODES[@]}"; do
      [ "$m" = baseline ] && continue
      med=$(awk -v k="$kind" -v m="$m$sfx" '$1 == k && $2 == m {print $6}' "$RESULTS" | median)
      lost=$(awk -v k="$kind" -v m="$m$sfx" '$1 == k && $2 == m {s += $11 + $12 + $14 + $15} END {print s + 0}' "$RESULTS")
      # floor is a measurement (attaching alone), not a mode with a target
      [ "$m" = floor ] && continue
      want=0.60
      [ "$m" = stats ] || [ "$m" = exporter ] || [ "$m" = top ] && want=0.90
      ratio=$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2f", a / b}')
      awk -v k="$kind" -v m="$m" -v r="$ratio" -v w="$want" -v l="$lost" 'BEGIN {
        printf "%-8s %-6s ratio %s (target >= %s) %s; lost+evicted %d %s\n", k, m, r, w,
          (r + 0 >= w + 0 ? "PASS" : "FAIL"), l, (l == 0 ? "PASS" : "FAIL") }'
    done
  done
}

# ---- --compare: before/after table ----------------------------------------------

# awk: med(a, n), the median of a[1..n] (sorts a in place), for the awk
# programs below (prepended to each).
AWK_MED='function med(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}'

# One line per mode: median conn/s ratio to the (shared) baseline, tracer CPU
# per million events as median [min-max] of the per-run figures (the spread is
# the noise the change has to beat), peak RSS, and loss (lost + evicted, summed),
# for the before and after builds, and the after's change over the before's.
summarize_compare() {  # KIND
  local kind=$1 base m
  base=$(awk -v k="$kind" '$1 == k && $2 == "baseline" {print $6}' "$RESULTS" | median)
  printf '%-9s %4s %6s %6s %7s  %-19s %-19s %7s  %-15s %-15s %7s  %7s %7s  %9s %11s\n' mode runs ratio ratio change \
    'CPUms/Mev before' 'CPUms/Mev after' change 'churn us/conn' 'churn us/conn' change 'RSS MiB' 'RSS MiB' 'lost b/a' \
    'wakeups/s'
  printf '%-9s %4s %6s %6s %7s  %-19s %-19s %7s  %-15s %-15s %7s  %7s %7s  %9s %5s %5s\n' '' '' before after '' \
    'med [min-max]' 'med [min-max]' '' before after '' before after '' before after
  for m in "${RUN_MODES[@]}"; do
    if [ "$m" = baseline ]; then
      awk -v k="$kind" -v base="$base" "$AWK_MED"'
        $1 == k && $2 == "baseline" { u[++n] = $4 > 0 ? $20 * 1000 / $4 : 0 }
        END {if (n) printf "%-9s %4d %6s %6s %7s  %-19s %-19s %7s  %-15s (%d conn/s, median)\n", "baseline", n, "1.00",
               "1.00", "", "-", "-", "", sprintf("%.1f [%.1f-%.1f]", med(u, n), u[1], u[n]), base}' "$RESULTS"
      continue
    fi
    awk -v k="$kind" -v m="$m" -v base="$base" "$AWK_MED"'
      function pct(b, a) { return b > 0 ? sprintf("%+.1f%%", 100 * (a - b) / b) : "-" }
      $1 == k && ($2 == m ":before" || $2 == m ":after") {
        b = substr($2, length(m) + 2)
        i = ++n[b]; rate[b, i] = $6
        cpu[b, i] = $8 > 0 ? $9 / $8 * 1e6 : 0
        us[b, i] = $4 > 0 ? $20 * 1000 / $4 : 0
        if ($10 > hwm[b]) hwm[b] = $10
        lost[b] += $11 + $12 + $14 + $15
        wk[b, i] = $5 > 0 ? $21 / $5 : 0
      }
      END {
        if (!n["before"] || !n["after"]) exit
        for (bi = 1; bi <= 2; bi++) {
          b = bi == 1 ? "before" : "after"
          delete r; delete c; delete u; delete w
          for (i = 1; i <= n[b]; i++) { r[i] = rate[b, i]; c[i] = cpu[b, i]; u[i] = us[b, i]; w[i] = wk[b, i] }
          wm[b] = med(w, n[b])
          ratio[b] = base > 0 ? med(r, n[b]) / base : 0
          cm[b] = med(c, n[b])
          cs[b] = sprintf("%.0f [%.0f-%.0f]", cm[b], c[1], c[n[b]])
          um[b] = med(u, n[b])
          ust[b] = sprintf("%.1f [%.1f-%.1f]", um[b], u[1], u[n[b]])
        }
        printf "%-9s %4d %6.2f %6.2f %7s  %-19s %-19s %7s  %-15s %-15s %7s  %7.1f %7.1f  %9s %5.0f %5.0f\n", m,
          n["after"], ratio["before"], ratio["after"], pct(ratio["before"], ratio["after"]), cs["before"], cs["after"],
          pct(cm["before"], cm["after"]), ust["before"], ust["after"], pct(um["before"], um["after"]),
          hwm["before"] / 1024, hwm["after"] / 1024, lost["before"] "/" lost["after"], wm["before"], wm["after"]
      }' "$RESULTS"
  done
}

print_compare_table() {
  if [ ${#RUN_MODES[@]} -gt 0 ]; then
    echo "== churn, before ($COMPARE) vs after ($BUILD_DIR): $CONNECTIONS connections per run, $ROUNDS paired rounds (tl_churn ${CHURN_ARGS[*]})"
    summarize_compare churn
    if grep -q '^sustain ' "$RESULTS"; then
      echo
      echo "== sustained: one ${SUSTAIN} s flat-out run per mode and build"
      summarize_compare sustain
    fi
    if grep -q '^bpfstats ' "$RESULTS"; then
      echo
      print_bpf_stats
    fi
    echo
    cat <<'EOF'
ratio: median conn/s over the baseline's (one baseline, shared: no tracer is the same
for both builds); change: after over before. CPUms/Mev: user+sys of the tcplinger
process (start-up excluded) per million events, per run; median and [min-max] over the
rounds: a change inside both spreads is noise. churn us/conn: tl_churn's own user+sys
per connection, median [min-max]: the BPF programs run in its context, and CPU per
connection depends far less than the rate on what else the machine runs (the baseline's
is the untraced cost). RSS: peak (VmHWM). lost b/a: events lost
(ring buffer, recursion) plus sockets evicted, summed over the runs, before/after.
wakeups/s: the tracer's voluntary context switches per second of churn, median: its
50 ms poll alone makes 20; more are ring buffer wakeups (BPF_RB_FORCE_WAKEUP) and I/O.
EOF
    print_targets
  fi
}

# ---- timers: what the timer programs cost other timers ----------------------------

# One tracer per build (and none), rotated per round; under each, both
# tl_timers workloads. The tracer is `stats` over the bench namespace: its
# programs see every timer in the kernel anyway (timer tracepoints are not
# per namespace).
timers_round() {  # ROUND
  local r=$1 labels=(none) l i
  if [ -n "$COMPARE" ]; then labels+=(stats:before stats:after); else labels+=(stats); fi
  for ((i = 0; i < ${#labels[@]}; i++)); do
    l=${labels[$(((i + r - 1) % ${#labels[@]}))]}
    timers_run "$l" "$r"
  done
}

timers_run() {  # LABEL ROUND
  local label=$1 round=$2 prefix=$WORK/timers-$1-$2 line w trips
  wait_idle
  if [ "$label" != none ]; then
    tracer_cmd "$label" "timers-$round"
    start_tracer "$prefix" /dev/null "${TRACER_CMD[@]}"
  fi
  # keepalive trips cost about a fifth of a ping-pong round trip
  for w in pingpong keepalive; do
    trips=$TIMER_TRIPS
    [ "$w" = keepalive ] && trips=$((TIMER_TRIPS * 5))
    line=$(ip netns exec "$NS" "$TIMERS_BIN" --workload "$w" --trips "$trips")
    echo "$w $label $round $(grep -oE 'ns_per_trip=[0-9]+' <<<"$line" | cut -d= -f2) $BUSY" >>"$WORK/timers.tsv"
    printf 'bench: timers %-9s %-13s round %s %8s ns CPU per trip; background %s%%\n' "$w" "$label" "$round" \
      "$(tail -1 "$WORK/timers.tsv" | cut -d' ' -f4)" "$BUSY" >&2
  done
  [ "$label" != none ] && stop_tracer "$prefix"
  return 0
}

print_timers() {
  echo "== timers: tl_timers, CPU ns per trip (user+sys), median [min-max] of $ROUNDS; no timer here is a timewait one:"
  echo "   pingpong: $TIMER_TRIPS one-byte UNIX-socket round trips, recv() waiting with SO_RCVTIMEO (two timers each)"
  echo "   keepalive: $((TIMER_TRIPS * 5)) SO_KEEPALIVE on/off pairs on a loopback TCP socket (one timer each, no sleep)"
  echo "   cost: the tracer's extra ns per trip, median of the per-round differences to the no-tracer run of the"
  echo "   same round (the runs of a round are back to back, so slow drifts of the load cancel)"
  local w
  for w in pingpong keepalive; do
  awk -v cmp="$COMPARE" -v w="$w" -v head="$([ "$w" = pingpong ] && echo 1 || echo 0)" "$AWK_MED"'
    $1 != w { next }
    { $1 = ""; $0 = substr($0, 2) }
    { i = ++n[$1]; v[$1, i] = $3; at[$1, $2] = $3; rounds[$2] = 1 }
    END {
      for (l in n) {
        delete a
        for (i = 1; i <= n[l]; i++) a[i] = v[l, i]
        m[l] = med(a, n[l]); s[l] = sprintf("%.0f [%.0f-%.0f]", m[l], a[1], a[n[l]])
        if (l == "none") continue
        delete d; k = 0
        for (r in rounds) if ((l, r) in at && ("none", r) in at) d[++k] = at[l, r] - at["none", r]
        over[l] = k ? med(d, k) : 0
      }
      if (cmp != "") {
        if (head) printf "%-9s %-19s %-19s %-19s %8s %16s\n", "", "no tracer", "stats before", "stats after", "change", "cost before/after"
        printf "%-9s %-19s %-19s %-19s %+7.1f%% %7.0f / %.0f ns\n", w, s["none"], s["stats:before"], s["stats:after"],
          100 * (m["stats:after"] - m["stats:before"]) / m["stats:before"], over["stats:before"], over["stats:after"]
      } else {
        if (head) printf "%-9s %-19s %-19s %9s\n", "", "no tracer", "stats", "cost"
        printf "%-9s %-19s %-19s %6.0f ns\n", w, s["none"], s["stats"], over["stats"]
      }
    }' "$WORK/timers.tsv"
  done
}

# --memory: full sockets held at once under `tcplinger trace` (the mode that
# follows every socket: BPF socket storage and an engine entry for each),
# first with --max-sockets above the count, then with a bound below it.
memory_benchmark() {
  local conns=$((MEMORY_SOCKETS / 2)) big=1024
  while [ "$big" -lt $((MEMORY_SOCKETS + MEMORY_SOCKETS / 4)) ]; do big=$((big * 2)); done
  echo "bench: memory: $MEMORY_SOCKETS full sockets ($conns established connections, both ends in the"
  echo "bench: namespace, never accepted) held at once under 'tcplinger trace -j > /dev/null'"
  echo "bench: tcplinger $(git describe --always --dirty 2>/dev/null || echo '?'), $(uname -r), $(nproc) CPUs"
  printf '%-11s %8s %9s %8s %7s %8s %10s %12s %15s %9s\n' max-sockets held 'socks' 'all maps' \
    'RSS MiB' 'peak MiB' 'kernel MiB' 'evicted b/e' 'ringbuf open/end' recursion
  local max
  for max in "$big" 262144; do
    memory_run "$max" "$conns"
  done
  cat <<EOF

held: full sockets in the namespace (ss) while measuring. socks / all maps: memlock the
kernel reports for the socket-storage map / for all the tracer's maps (MiB; socket
storage is allocated per socket, inside each socket, and freed with it, so its map
reports no preallocation). RSS: the tracer's VmRSS with every socket held; peak: VmHWM
after all were closed. kernel: the machine's MemAvailable drop while held (the sockets,
their BPF storage, the maps). evicted: sockets missing from BPF socket storage (b) or
that the userspace table (--max-sockets) could not hold (e); each one is counted, none
is dropped silently. ringbuf: events lost to a full ring buffer while the connections
opened / in the whole run (the end closes every socket at once: the listeners' close
resets all queued connections).
EOF
}

memory_run() {  # MAX_SOCKETS CONNECTIONS
  local max=$1 conns=$2 prefix=$WORK/memory-$1 avail0 avail1 held i
  ip netns del "$NS" 2>/dev/null || true
  make_netns
  avail0=$(awk '/^MemAvailable:/{print $2}' /proc/meminfo)
  start_tracer "$prefix" /dev/null "$BIN" trace -j --netns "$NSPATH" --max-sockets "$max"
  ip netns exec "$NS" "$CHURN" --hold "$conns" --ports 32 --sources 16 >"$prefix.churn" 2>/dev/null &
  CHURN_PID=$!
  for ((i = 0; i < 1200; i++)); do
    grep -q connections= "$prefix.churn" && break
    kill -0 "$CHURN_PID" 2>/dev/null || break
    sleep 0.25
  done
  sleep 3  # the tracer drains the connection burst
  held=$(ip netns exec "$NS" ss -s | sed -n 's/^TCP: *[0-9]* (estab \([0-9]*\),.*/\1/p')
  avail1=$(awk '/^MemAvailable:/{print $2}' /proc/meminfo)
  local rss maps drops_open
  rss=$(awk '/^VmRSS:/{print $2}' "/proc/$TRACER_PID/status")
  drops_open=$(bpf_counter "$TRACER_PID" ringbuf_drops)
  map_stats "$TRACER_PID" >"$prefix.maps"
  kill -INT "$CHURN_PID"
  wait "$CHURN_PID" || true
  CHURN_PID=""
  sleep 3  # the tracer sees every socket close
  stop_tracer "$prefix"
  maps=$(awk '$1 == "socks" {s = $3} {t += $3} END {printf "%.1f %.1f", s / 1048576, t / 1048576}' "$prefix.maps")
  # shellcheck disable=SC2086
  set -- $maps
  printf '%-11s %8s %9s %8s %7.1f %8.1f %10.0f %12s %15s %9s\n' "$max" "${held:-?}" "$1" "$2" \
    "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$(awk -v k="$T_HWM" -v r="$rss" 'BEGIN {print (k > r ? k : r) / 1024}')" \
    "$(awk -v a="$avail0" -v b="$avail1" 'BEGIN {print (a - b) / 1024}')" "$T_EV_BPF/$T_EV_ENGINE" \
    "$drops_open/$T_RINGBUF" "$T_RECURSION"
  ip netns del "$NS" 2>/dev/null || true
}

# --profile: where the CPU goes while a tracer mode runs under flat-out churn.
# System-wide cpu-clock sampling (no hardware counters needed): the tracer's
# own hot functions, and for each BPF program what it spends its time in.
profile_mode() {  # MODE SECONDS
  local mode=$1 secs=$2 prefix=$WORK/profile-$1 churn_pid
  if ! command -v perf >/dev/null 2>&1; then
    echo "bench: --profile needs perf (Debian: apt-get install linux-perf)" >&2
    return 0
  fi
  tracer_cmd "$mode" "profile"
  flush_timewait
  start_tracer "$prefix" /dev/null "${TRACER_CMD[@]}"
  ip netns exec "$NS" "$CHURN" "${CHURN_ARGS[@]}" --duration $((secs + 3)) >"$prefix.churn" &
  churn_pid=$!
  sleep 1
  # System-wide with frame pointers for the kernel and BPF side; DWARF
  # unwinding for the tracer itself (built without frame pointers).
  perf record -a -g -e cpu-clock -F 999 -o "$prefix.sys.data" -- sleep "$secs" >/dev/null 2>&1 &
  perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$TRACER_PID" -o "$prefix.user.data" \
    -- sleep "$secs" >/dev/null 2>&1 || true
  wait $! || true
  wait "$churn_pid" || true
  stop_tracer "$prefix"
  perf script -i "$prefix.sys.data" -F comm,ip,sym 2>/dev/null >"$prefix.sys.txt" || true
  perf script -i "$prefix.user.data" -F comm,ip,sym 2>/dev/null >"$prefix.user.txt" || true
  echo "== profile: $mode, perf record -e cpu-clock over $secs s of churn ($(cut -d' ' -f3 "$prefix.churn"))"
  profile_report "$prefix.sys.txt" | grep -v '^tcplinger process' | awk '/^BPF programs/ {p = 1} p || NR == 1'
  profile_report "$prefix.user.txt" | awk '/^BPF programs/ {exit} NR > 1'
  echo
}

# perf script -F comm,ip,sym -> summary. Template arguments are dropped from
# C++ names so they fit on a line.
profile_report() {
  awk '
    function short(s,   t) {
      t = s
      gsub(/\(anonymous namespace\)/, "{anon}", t)
      while (t ~ /<[^<>]*>/) gsub(/<[^<>]*>/, "", t)
      sub(/\(.*$/, "", t)
      return substr(t, 1, 70)
    }
    function flush() {
      if (!nf) return
      total++; comm[cm]++
      if (cm == "tcplinger") { tl++; tleaf[short(leaf)]++; town[own == "" ? "(no tcplinger frame)" : short(own)]++ }
      if (prog != "") { bpf++; pcount[prog]++; pleaf[prog SUBSEP short(leaf)]++ }
    }
    /^[^ \t]/ { flush(); cm = $1; nf = 0; prog = ""; own = ""; next }
    /^[ \t]+[0-9a-f]+ / {
      nf++
      sym = $0
      sub(/^[ \t]+[0-9a-f]+ /, "", sym)
      if (nf == 1) leaf = sym
      if (own == "" && sym ~ /^tcplinger::/) own = sym
      if (prog == "" && sym ~ /^bpf_prog_[0-9a-f]+_/) { prog = sym; sub(/^bpf_prog_[0-9a-f]+_/, "", prog) }
      next
    }
    END {
      flush()
      if (!total) { print "  (no samples)"; exit }
      printf "CPU samples: %d; tl_churn %.1f%%, tcplinger %.1f%%, inside BPF programs %.1f%%, other %.1f%%\n", total,
        100 * comm["tl_churn"] / total, 100 * tl / total, 100 * bpf / total,
        100 * (total - comm["tl_churn"] - tl) / total
      print "tcplinger process, leaf functions (% of its samples):"
      fflush()
      for (f in tleaf) if (tleaf[f] * 100 >= tl * 1.5) printf "  %5.1f%%  %s\n", 100 * tleaf[f] / tl, f | "sort -rn | head -15"
      close("sort -rn | head -15")
      print "tcplinger process, innermost tcplinger function on the stack (% of its samples):"
      fflush()
      for (f in town) if (town[f] * 100 >= tl * 1.5) printf "  %5.1f%%  %s\n", 100 * town[f] / tl, f | "sort -rn | head -15"
      close("sort -rn | head -15")
      print "BPF programs (% of all samples), with what they spend it in (% of the program):"
      fflush()
      for (p in pcount) {
        cmd = "sort -rn | head -8"
        printf "  %5.2f%%  %s\n", 100 * pcount[p] / total, p
        fflush()
        for (k in pleaf) {
          split(k, a, SUBSEP)
          if (a[1] == p && pleaf[k] * 100 >= pcount[p] * 3) printf "           %5.1f%%  %s\n", 100 * pleaf[k] / pcount[p], a[2] | cmd
        }
        close(cmd)
      }
    }' "$1"
}

# ---- exporter: scraping, and the soak ------------------------------------------
EXPORTER_PORT=${EXPORTER_PORT:-19747}

start_scraper() {  # URL LOG: one scrape a second until stop_scraper
  ( while :; do curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' "$1" >>"$2"; sleep 1; done ) &
  SCRAPER_PID=$!
}
stop_scraper() {
  # wait reports the TERM (143): not a failure under set -e
  [ -n "$SCRAPER_PID" ] && kill "$SCRAPER_PID" 2>/dev/null && { wait "$SCRAPER_PID" 2>/dev/null || true; }
  SCRAPER_PID=""
  return 0
}

metric_value() {  # URL NAME: the sample's value (unlabelled metric)
  curl -s "$1" | awk -v n="$2" '$1 == n {print $2; exit}'
}

# --soak MINUTES: the exporter under churn with a real Prometheus scraping it
# every second. Label sets churn too: a process with a new name every 0.2 s
# makes one TIME-WAIT, so sets keep being folded and expiring; RSS and the
# series count must level off.
soak_benchmark() {
  local minutes=$1 prefix=$WORK/soak url port
  command -v prometheus >/dev/null || { echo "bench: --soak needs prometheus (scripts/bootstrap installs it)" >&2; exit 1; }
  make_netns
  url="http://127.0.0.1:$EXPORTER_PORT/metrics"
  start_tracer "$prefix" /dev/null "$BIN" exporter --netns "$NSPATH" --listen "127.0.0.1:$EXPORTER_PORT" \
    --max-series 200 --series-ttl 30
  port=$((EXPORTER_PORT + 1))
  mkdir -p "$WORK/prom"
  printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tcplinger\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' \
    "$EXPORTER_PORT" >"$WORK/prom/prometheus.yml"
  prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
    --web.listen-address="127.0.0.1:$port" >"$WORK/prom/log" 2>&1 &
  PROM_PID=$!
  # A new comm every 0.2 s: one client-first close each (port 7999).
  ip netns exec "$NS" python3 -c '
import ctypes, os, socket, time
libc = ctypes.CDLL(None)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 7999)); srv.listen(128)
if os.fork() == 0:
    libc.prctl(1, 15, 0, 0, 0)  # PR_SET_PDEATHSIG SIGTERM: goes with the loop below
    while True:
        c, _ = srv.accept(); c.recv(1); c.close()
i = 0
while True:
    i += 1
    if os.fork() == 0:
        libc.prctl(15, ("soak%d" % i).encode(), 0, 0, 0)
        socket.create_connection(("127.0.0.1", 7999)).close()
        os._exit(0)
    os.wait()
    time.sleep(0.2)
' &
  NAMER_PID=$!
  local end=$((SECONDS + minutes * 60)) t0=$SECONDS
  echo "bench: soak ${minutes} min: exporter --max-series 200 --series-ttl 30, tl_churn ${CHURN_ARGS[*]:-}, a new comm every 0.2 s, Prometheus scraping every 1 s"
  printf '%8s %9s %9s %8s %9s %12s %6s %9s\n' elapsed 'RSS MiB' 'HWM MiB' series dropped events lost 'up'
  ip netns exec "$NS" "$CHURN" --threads "$THREADS" --ports "$PORTS" --duration $((minutes * 60)) >"$prefix.churn" &
  CHURN_PID=$!
  while [ $SECONDS -lt $end ]; do
    sleep 15
    local rss hwm series dropped events lost up
    rss=$(awk '/^VmRSS:/{printf "%.1f", $2 / 1024}' "/proc/$TRACER_PID/status")
    hwm=$(awk '/^VmHWM:/{printf "%.1f", $2 / 1024}' "/proc/$TRACER_PID/status")
    series=$(metric_value "$url" tcplinger_series)
    dropped=$(metric_value "$url" tcplinger_series_dropped_total)
    events=$(metric_value "$url" tcplinger_events_total)
    lost=$(curl -s "$url" | awk '$1 ~ /^tcplinger_events_lost_total/ {s += $2} END {print s + 0}')
    up=$(curl -s "http://127.0.0.1:$port/api/v1/query?query=up" | grep -oE '"value":\[[0-9.]+,"[01]"' | grep -oE '"[01]"$' | tr -d '"')
    printf '%8s %9s %9s %8s %9s %12s %6s %9s\n' "$((SECONDS - t0))s" "$rss" "$hwm" "$series" "$dropped" "$events" "$lost" "${up:-?}"
  done
  wait "$CHURN_PID" 2>/dev/null || true
  CHURN_PID=""
  echo "bench: tl_churn: $(cat "$prefix.churn")"
  stop_tracer "$prefix"
  echo "bench: exporter: $(grep 'events,' "$prefix.err" | tail -1)"
}
