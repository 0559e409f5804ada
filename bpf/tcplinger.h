/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The only ABI between the BPF programs and userspace: fixed-width, no
 * pointers, explicit padding. Userspace checks the layout with
 * static_assert (user/core/abi_check.hpp). Bump TL_ABI_VERSION on any change;
 * recordings store it.
 */
#ifndef TCPLINGER_ABI_H
#define TCPLINGER_ABI_H

#define TL_ABI_VERSION 1

#define TL_COMM_LEN 16
#define TL_ADDR_LEN 16

/* Record kinds. */
enum tl_kind {
	TL_EV_STATE = 1,      /* sock:inet_sock_set_state on a full socket */
	TL_EV_TW_START = 2,   /* timer_start on a timewait socket's timer (birth or re-arm) */
	TL_EV_TW_CANCEL = 3,  /* timer_cancel on a timewait timer (expiry, kill, or first half of a re-arm) */
	TL_EV_TW_EXPIRE = 4,  /* timer_expire_entry: the timewait timer really ran */
	TL_EV_TW_REUSE = 5,   /* a SYN killed the timewait socket and opened a request on its 4-tuple */
	TL_EV_OWNER = 6,      /* accept() returned this socket in the current task */
	TL_EV_EXISTING = 7,   /* socket present when tracing started (iter/tcp) */
	TL_EV_TW_PROBE = 8,   /* timewait substate read on demand (tl_tw_probe), see below */
	TL_EV_TW_BIRTH = 9,   /* lean mode only: a timewait socket's first timer_start merged
			       * with its full socket's X -> CLOSE (tcp_time_wait), see below */
};

/*
 * The transitions a close() or shutdown() call makes (net/ipv4/tcp.c:
 * tcp_close_state, __tcp_close). Their caller is the closer, the process the
 * closing side's stays are charged to. BPF (lean mode) and the engine both
 * use this one definition. States as in include/net/tcp_states.h.
 */
static inline __attribute__((always_inline)) int tl_is_close_call(int oldstate, int newstate)
{
	/* close() after shutdown(SHUT_WR): tcp_close_state() maps FIN_WAIT1,
	 * FIN_WAIT2, CLOSING and LAST_ACK to themselves and tcp_set_state()
	 * still fires the tracepoint. The stay goes on; only its caller is news. */
	if (oldstate == newstate)
		return newstate == 4 || newstate == 5 || newstate == 9 || newstate == 11;
	if (newstate == 4 /* FIN_WAIT1 */)
		return oldstate == 1 /* ESTABLISHED */ || oldstate == 3 /* SYN_RECV */;
	if (newstate == 9 /* LAST_ACK */)
		return oldstate == 8 /* CLOSE_WAIT */;
	if (newstate == 7 /* CLOSE */)
		return oldstate == 1 || oldstate == 8 || oldstate == 3;
	return 0;
}

/*
 * A FIN that moves an orphaned timewait socket from FIN_WAIT2 to TIME_WAIT
 * re-arms its timer, but a re-arm within the same wheel bucket fires no
 * timer_start (kernel/time/timer.c: __mod_timer fast path). Userspace asks
 * tl_tw_probe (run with BPF_PROG_TEST_RUN) to re-read such sockets: it fills
 * tw_probe_in[0..n) with {kaddr, cookie}, the program answers in
 * tw_probe_out, checking the cookie so a freed and reused object is ignored.
 */
#define TL_TW_PROBE_MAX 1024

struct tl_tw_probe_req {
	__u64 kaddr;
	__u64 cookie;
};

struct tl_tw_probe_res {
	__u64 expires;  /* jiffies */
	__u64 jiffies;
	__u64 ts_ns;
	__u8 valid;     /* cookie matched */
	__u8 substate;
	__u8 pad[6];
};

/* tl_event.flags */
#define TL_F_TASK_CTX      0x0001 /* ran in the task holding the socket lock (process context) */
#define TL_F_OWNER_KNOWN   0x0002 /* owner_* fields are valid */
#define TL_F_NET_DYING     0x0004 /* TW_CANCEL: the netns is being torn down (purge) */
#define TL_F_CONNECT_REUSE 0x0008 /* TW_CANCEL: killed by connect() of this task reusing the 4-tuple */
#define TL_F_DUE           0x0010 /* TW_CANCEL: jiffies >= expires (the timer is due) */
#define TL_F_NO_COOKIE     0x0020 /* cookie field is a synthetic key (socket had no cookie) */
#define TL_F_SK_ERR        0x0040 /* STATE: the socket has a pending error (sk_err), e.g. after an RST */
#define TL_F_OWNER_IS_CLOSER 0x0080 /* lean: owner_* is the close()/shutdown() caller, not the owner */
#define TL_F_TW_OVERFLOW   0x0100 /* STATE X -> CLOSE: tcp_time_wait() found tcp_max_tw_buckets full
				   * (see tw_overflow_close in state.bpf.c); the engine also
				   * checks that no timewait socket was born */

/*
 * One fixed-size record per event. Field meaning by kind:
 *   aux0: STATE: ns spent in old_state as seen by BPF (0 = unknown)
 *         TW_*: the timer's expires (jiffies); EXISTING: socket inode
 *   aux1: TW_* and EXISTING timewait: bpf_jiffies64() at the event
 *   TW_BIRTH (lean mode, which ships a timewait socket's birth and its full
 *         socket's X -> CLOSE as one record): as TW_START, plus old_state =
 *         the full socket's last state X and aux1 = ns spent in X (0 =
 *         unknown) instead of jiffies; owner_* as on a STATE record
 *   old_state/new_state: STATE: the transition; TW_*: new_state is the
 *         timewait substate (FIN_WAIT2 5 or TIME_WAIT 6); EXISTING: new_state
 *         is the state (TIME_WAIT for timewait sockets, old_state = substate)
 */
struct tl_event {
	__u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cookie;       /* socket cookie, shared by the full and the timewait socket */
	__u64 cgroup_id;    /* current task's cgroup v2 id */
	__u64 owner_cgroup; /* owner's cgroup id when TL_F_OWNER_KNOWN */
	__u64 aux0;
	__u64 aux1;
	__u32 netns;        /* network namespace inode */
	__u32 pid;          /* current task: tgid */
	__u32 tid;          /* current task: pid */
	__u32 owner_pid;    /* tgid of the socket's owner (connect/listen/accept caller) */
	__u16 lport;        /* host byte order */
	__u16 rport;        /* host byte order */
	__u8 kind;          /* enum tl_kind */
	__u8 family;        /* 4 or 6 */
	__u8 old_state;
	__u8 new_state;
	__u16 flags;
	__u8 abi;           /* TL_ABI_VERSION */
	__u8 pad0;
	__u32 hz;           /* CONFIG_HZ, for jiffies in aux0/aux1 */
	__u8 laddr[TL_ADDR_LEN]; /* IPv4 in the first 4 bytes */
	__u8 raddr[TL_ADDR_LEN];
	char comm[TL_COMM_LEN];
	char owner_comm[TL_COMM_LEN];
	__u64 kaddr;        /* TW_*: kernel address of the timewait socket (for tl_tw_probe only) */
};

/* Per-CPU drop and health counters (BPF global data, summed by userspace). */
struct tl_counters {
	__u64 events;          /* records submitted */
	__u64 ringbuf_drops;   /* bpf_ringbuf_reserve failed */
	__u64 sock_untracked;  /* transition on a socket missing from the socket map (evicted) */
	__u64 sock_map_full;   /* socket map update failed */
	__u64 nested_caught;   /* nested tracepoint hits handled by the backup program */
	__u64 no_cookie;       /* timewait socket without cookie */
};

#define TL_MAX_CPUS 1024

/*
 * One open file of a process that refers to a TCP socket in CLOSE_WAIT
 * (iter/task_file, tl_iter_holders): who holds a leaking socket now, and at
 * which fd. Read only by the live tracer when it reports (never recorded),
 * so it is not part of struct tl_event.
 */
struct tl_holder {
	__u64 cookie;  /* the socket's cookie (0: never traced, skipped) */
	__u64 cgroup;  /* the holder's cgroup v2 id */
	__u32 pid;     /* tgid */
	__u32 fd;
	char comm[TL_COMM_LEN];
};

#endif
