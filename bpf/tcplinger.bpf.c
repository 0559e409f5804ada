// SPDX-License-Identifier: GPL-2.0
/*
 * tcplinger BPF side: TCP state transitions of full sockets, the life of
 * timewait sockets (followed through their timer), accept() ownership and
 * a snapshot iterator. Tracepoints only (tp_btf, one classic syscall
 * tracepoint, iter/tcp): fentry/kprobes are not available everywhere.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcplinger.h"

char LICENSE[] SEC("license") = "GPL";

/* cmake -DTL_ATTACH_ONLY=ON (scripts/bench's "floor" mode): every attached
 * program returns at once, so the benchmark can measure what the tracepoints
 * cost with nothing done in them. Never in a normal build. */
#ifdef TL_ATTACH_ONLY
#define TL_ENTRY() return 0
#else
#define TL_ENTRY() do { } while (0)
#endif

#define AF_INET 2
#define AF_INET6 10
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7
#define TCP_CLOSE_WAIT 8
#define TCP_LAST_ACK 9
#define TCP_LISTEN 10
#define TCP_CLOSING 11
#define SOCK_DEAD 0 /* enum sock_flags */
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SOCK_DONE 1

/* Filters, set by userspace before load. 0 means "any". */
const volatile __u32 filter_netns = 0;
const volatile __u8 filter_family = 0; /* 4 or 6 */
const volatile __u16 filter_lport = 0;
const volatile __u16 filter_rport = 0;
const volatile __u16 filter_port = 0; /* either side */
/* Force a reader wakeup once this many bytes are waiting; otherwise the
 * reader polls on a short timeout (batched wakeups, see performance issue). */
const volatile __u64 wakeup_bytes = 1 << 20;
/* stats only: ship what lingering stays need and nothing else (see
 * lean_skip and TL_EV_TW_BIRTH). Entry times, owner and closer stay in socket
 * storage, so every shipped record still carries the exact time spent in its
 * old state (aux0) and the process responsible for it. */
const volatile bool lean = false;

extern const void tw_timer_handler __ksym;
extern const void reqsk_timer_handler __ksym;
extern unsigned int CONFIG_HZ __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct tl_sock {
	__u64 entered_ns;
	__u64 owner_cgroup;
	__u64 closer_cgroup; /* lean: the close()/shutdown() caller */
	__u32 owner_pid;
	__u32 closer_pid;
	__u8 owner_known;
	__u8 closer_known;
	__u8 pad[6];
	char owner_comm[TL_COMM_LEN];
	char closer_comm[TL_COMM_LEN];
};

/* Per-socket state lives in the socket itself (socket local storage): no
 * hash lookup, no lock, no bound to overflow, freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tl_sock);
} socks SEC(".maps");

struct tl_connecting {
	__u64 ts_ns;
	__u64 sk; /* the connecting socket, alive for the whole connect() call */
};

/* Last connect() per thread (task local storage): a timewait kill that this
 * thread causes right after is a tcp_tw_reuse (inet_hashtables.c:
 * __inet_check_established). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tl_connecting);
} connecting SEC(".maps");

struct tl_lastkill {
	__u64 ts_ns;
	__u64 cookie;
	__u32 netns;
	__u16 lport;
	__u16 rport;
	__u8 raddr[TL_ADDR_LEN];
};

/* Timewait socket killed early on this CPU, waiting to see whether a new
 * request socket on the same 4-tuple follows (tcp_ipv4.c: TCP_TW_SYN). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_lastkill);
} lastkill SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_counters);
} counters SEC(".maps");

/*
 * Lean mode: tcp_time_wait() arms the new timewait socket's timer, then
 * tcp_done() moves the full socket to CLOSE, on the same CPU with bottom
 * halves off. The birth waits here and leaves as one TL_EV_TW_BIRTH record
 * with that transition (or alone, as TL_EV_TW_START, if anything else comes
 * first).
 */
struct tl_stash {
	struct tl_event e;
	__u64 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_stash);
} stash SEC(".maps");

/* Lean mode: the last timer operation on this CPU. A re-arm through
 * __mod_timer's slow path is a timer_cancel immediately followed by a
 * timer_start of the same timer (base lock held, interrupts off); a birth
 * never is. */
struct tl_lasttimer {
	__u64 timer;
	__u64 cancel;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tl_lasttimer);
} lasttimer SEC(".maps");

enum hook { HOOK_STATE, HOOK_TSTART, HOOK_TCANCEL, HOOK_TEXPIRE, HOOK_ACCEPT, HOOK_N };

/*
 * A softirq that hits a tracepoint while the same program already runs on
 * that CPU is skipped by the kernel (recursion miss). So each program has a
 * backup copy attached after it. The primary's first act is to write the
 * hit's identity into a per-CPU ring; the backup, which runs after the
 * primary for every hit, handles exactly the hits whose identity is not in
 * the ring, including those that arrive while the kernel already counts the
 * primary as running but before its first instruction (a busy flag raised
 * by the program itself cannot cover that gap).
 */
#define TL_HIT_RING 8

/* A hit is the object the tracepoint is about (socket or timer) plus a tag
 * (the transition, the timer's expiry). Pointers are stored and compared as
 * they are: CAP_PERFMON lets the verifier allow it, and pointer arithmetic
 * on trusted pointers is not allowed at all. */
struct tl_hit {
	__u64 obj;
	__u64 tag;
};

struct tl_hits {
	struct tl_hit ring[TL_HIT_RING];
	__u32 next;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOOK_N);
	__type(key, __u32);
	__type(value, struct tl_hits);
} hits SEC(".maps");

static __always_inline struct tl_counters *ctrs(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline struct tl_event *reserve(void)
{
	struct tl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct tl_counters *c = ctrs();

	if (!e) {
		if (c)
			c->ringbuf_drops++;
		return NULL;
	}
	if (c)
		c->events++;
	return e;
}

static __always_inline void submit(struct tl_event *e)
{
	/* The reader polls every 50 ms; wake it early only when the backlog
	 * crosses wakeup_bytes (with this record), not on every record above it. */
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 rec = sizeof(*e) + 8;

	bpf_ringbuf_submit(e, avail >= wakeup_bytes && avail < wakeup_bytes + rec ? BPF_RB_FORCE_WAKEUP
										    : BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_task(struct tl_event *e, bool task_ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->pid = id >> 32;
	e->tid = (__u32)id;
	/* In softirq the current task is whatever was interrupted: its comm and
	 * cgroup would only mislead, and reading them costs. */
	if (task_ctx) {
		e->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	}
	e->abi = TL_ABI_VERSION;
	e->hz = CONFIG_HZ;
}

/* 4-tuple, family and netns of any socket (full, timewait or request). */
struct tl_tuple {
	__u32 netns;
	__u16 lport, rport;
	__u8 family;
	__u8 laddr[TL_ADDR_LEN];
	__u8 raddr[TL_ADDR_LEN];
};

static __always_inline int read_tuple(const struct sock_common *skc, struct tl_tuple *t)
{
	__u16 fam = BPF_CORE_READ(skc, skc_family);

	if (fam == AF_INET) {
		t->family = 4;
		BPF_CORE_READ_INTO((__u32 *)t->laddr, skc, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->raddr, skc, skc_daddr);
	} else if (fam == AF_INET6) {
		t->family = 6;
		bpf_core_read(t->laddr, sizeof(t->laddr), &skc->skc_v6_rcv_saddr);
		bpf_core_read(t->raddr, sizeof(t->raddr), &skc->skc_v6_daddr);
	} else {
		return -1;
	}
	t->lport = BPF_CORE_READ(skc, skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	t->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	return 0;
}

/* Same as read_tuple, with direct loads: sk is a BTF pointer (tp_btf). */
static __always_inline int read_tuple_sk(const struct sock *sk, struct tl_tuple *t)
{
	const struct sock_common *skc = &sk->__sk_common;
	__u16 fam = skc->skc_family;

	if (fam == AF_INET) {
		t->family = 4;
		*(__u32 *)t->laddr = skc->skc_rcv_saddr;
		*(__u32 *)t->raddr = skc->skc_daddr;
	} else if (fam == AF_INET6) {
		t->family = 6;
		*(__u64 *)&t->laddr[0] = *(__u64 *)&skc->skc_v6_rcv_saddr.in6_u.u6_addr32[0];
		*(__u64 *)&t->laddr[8] = *(__u64 *)&skc->skc_v6_rcv_saddr.in6_u.u6_addr32[2];
		*(__u64 *)&t->raddr[0] = *(__u64 *)&skc->skc_v6_daddr.in6_u.u6_addr32[0];
		*(__u64 *)&t->raddr[8] = *(__u64 *)&skc->skc_v6_daddr.in6_u.u6_addr32[2];
	} else {
		return -1;
	}
	t->lport = skc->skc_num;
	/* tcp_set_state(CLOSE) unhashes the socket and inet_put_port() zeroes
	 * inet_num before inet_sk_state_store() fires the tracepoint
	 * (inet_hashtables.c: __inet_put_port). inet_sport, set with it at
	 * bind/connect/accept (inet_csk_clone_lock), is left alone: without it
	 * every X -> CLOSE would show port 0 and fail a port filter, so a
	 * filtered run would never see its connections end. */
	if (!t->lport)
		t->lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	t->rport = bpf_ntohs(skc->skc_dport);
	t->netns = skc->skc_net.net->ns.inum;
	return 0;
}

static __always_inline bool tuple_filtered(const struct tl_tuple *t)
{
	if (filter_family && t->family != filter_family)
		return true;
	if (filter_netns && t->netns != filter_netns)
		return true;
	if (filter_lport && t->lport != filter_lport)
		return true;
	if (filter_rport && t->rport != filter_rport)
		return true;
	if (filter_port && t->lport != filter_port && t->rport != filter_port)
		return true;
	return false;
}

static __always_inline void put_tuple(struct tl_event *e, const struct tl_tuple *t)
{
	e->netns = t->netns;
	e->lport = t->lport;
	e->rport = t->rport;
	e->family = t->family;
	__builtin_memcpy(e->laddr, t->laddr, TL_ADDR_LEN);
	__builtin_memcpy(e->raddr, t->raddr, TL_ADDR_LEN);
}

/* The owner, or in lean mode for the closing side's stays (FIN-WAIT-2,
 * TIME-WAIT) the closer once known: the process each stay is charged to. */
static __always_inline void put_owner(struct tl_event *e, const struct tl_sock *s, bool closer)
{
	if (!s)
		return;
	if (lean && closer && s->closer_known) {
		e->flags |= TL_F_OWNER_KNOWN | TL_F_OWNER_IS_CLOSER;
		e->owner_pid = s->closer_pid;
		e->owner_cgroup = s->closer_cgroup;
		__builtin_memcpy(e->owner_comm, s->closer_comm, TL_COMM_LEN);
		return;
	}
	if (!s->owner_known)
		return;
	e->flags |= TL_F_OWNER_KNOWN;
	e->owner_pid = s->owner_pid;
	e->owner_cgroup = s->owner_cgroup;
	__builtin_memcpy(e->owner_comm, s->owner_comm, TL_COMM_LEN);
}

static __always_inline void set_owner_current(struct tl_sock *s)
{
	s->owner_pid = bpf_get_current_pid_tgid() >> 32;
	s->owner_cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(s->owner_comm, sizeof(s->owner_comm));
	s->owner_known = 1;
}

static __always_inline void set_closer_current(struct tl_sock *s)
{
	s->closer_pid = bpf_get_current_pid_tgid() >> 32;
	s->closer_cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(s->closer_comm, sizeof(s->closer_comm));
	s->closer_known = 1;
}

/* The stays of the closing side are charged to the closer. */
static __always_inline bool closer_side(int oldstate, int newstate)
{
	return oldstate == TCP_FIN_WAIT1 || oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING ||
	       newstate == TCP_FIN_WAIT2 || newstate == TCP_CLOSING;
}

/*
 * An orphaned socket entering FIN-WAIT-2 with a FIN timeout of at most
 * TCP_TIMEWAIT_LEN becomes a timewait socket in the same call (tcp_input.c:
 * tcp_rcv_state_process, tcp.c: tcp_close, both via tcp_time_wait) unless
 * TCP_LINGER2 is negative; that birth record carries the FIN-WAIT-2 entry.
 */
static __always_inline bool orphan_becomes_timewait(const struct sock *sk)
{
	const struct tcp_sock *tp = (const void *)sk;
	int fin_timeout, rto;

	if (!(sk->__sk_common.skc_flags & (1UL << SOCK_DEAD)))
		return false;
	fin_timeout = BPF_CORE_READ(tp, linger2);
	if (fin_timeout < 0)
		return false;
	if (!fin_timeout)
		fin_timeout = sk->__sk_common.skc_net.net->ipv4.sysctl_tcp_fin_timeout;
	rto = BPF_CORE_READ(tp, inet_conn.icsk_rto);
	if (fin_timeout < (rto << 2) - (rto >> 1))
		fin_timeout = (rto << 2) - (rto >> 1);
	return fin_timeout <= 60 * (int)CONFIG_HZ;
}

/*
 * Is this X -> CLOSE the one tcp_time_wait() makes when it gets no timewait
 * socket (tcp_max_tw_buckets full, counted as TCPTimeWaitOverflow)? The
 * kernel facts it rests on (net/ipv4/, Linux 6.18):
 * - tcp_minisocks.c: tcp_time_wait() calls inet_twsk_alloc(), which returns
 *   NULL when tw_refcount - 1 >= sysctl_max_tw_buckets (inet_timewait_sock.c);
 *   it then counts TCPTimeWaitOverflow and calls tcp_done() with sk_state
 *   still FIN_WAIT2 or CLOSING and sk_err untouched.
 * - Its callers: an orphan in FIN_WAIT2 (tcp.c: __tcp_close; tcp_input.c:
 *   tcp_rcv_state_process on the ACK of our FIN; tcp_timer.c:
 *   tcp_keepalive_timer), always with SOCK_DEAD set and TCP_LINGER2 >= 0;
 *   or the peer's FIN in FIN_WAIT2 (tcp_input.c: tcp_fin, which sets
 *   SOCK_DONE first) and the ACK of our FIN in CLOSING (a state entered by
 *   tcp_fin, so SOCK_DONE is set).
 * - The aborts that end FIN_WAIT2/CLOSING without a timewait socket:
 *   tcp_reset(), tcp_abort() and tcp_write_err() set sk_err before tcp_done()
 *   (tcp_done_with_error); tcp_disconnect() (SO_LINGER {1,0} close(),
 *   connect(AF_UNSPEC)) and __tcp_close's unread-data abort move to CLOSE
 *   before setting sk_err, from the socket call itself, before sock_orphan()
 *   (task context, not SOCK_DEAD; a FIN_WAIT2 socket there has no SOCK_DONE:
 *   a FIN would have moved it on); TCP_LINGER2 < 0 closes a dead FIN_WAIT2
 *   without SOCK_DONE (__tcp_close, tcp_rcv_state_process).
 * Not told apart (documented in the README): a timewait slab allocation
 * failure with buckets free (the kernel counts it as overflow too); an orphan
 * aborted by memory pressure or netns teardown while the buckets are full; a
 * tw socket freed on another CPU in the few hundred ns between
 * inet_twsk_alloc() and this tracepoint.
 */
static __always_inline bool tw_overflow_close(const struct sock *sk, int oldstate, bool task_ctx)
{
	const struct tcp_sock *tp = (const void *)sk;
	unsigned long flags = sk->__sk_common.skc_flags;
	bool dead = flags & (1UL << SOCK_DEAD), done = flags & (1UL << SOCK_DONE);
	struct net *net = sk->__sk_common.skc_net.net;
	int refs, max;

	if (oldstate != TCP_FIN_WAIT2 && oldstate != TCP_CLOSING)
		return false;
	if (sk->sk_err)
		return false;
	if (task_ctx && !dead && !(oldstate == TCP_FIN_WAIT2 && done))
		return false; /* tcp_disconnect() or an abort in close() */
	if (oldstate == TCP_FIN_WAIT2 && !done && (!dead || BPF_CORE_READ(tp, linger2) < 0))
		return false; /* TCP_LINGER2 < 0 */
	refs = BPF_CORE_READ(net, ipv4.tcp_death_row.tw_refcount.refs.counter);
	max = BPF_CORE_READ(net, ipv4.tcp_death_row.sysctl_max_tw_buckets);
	return refs - 1 >= max;
}

/*
 * Lean mode ships only what lingering stays need: not connection set-up
 * (into SYN-SENT, SYN-RECV, ESTABLISHED, LISTEN; a refused connect or closed
 * listener), not the close() call itself (its caller is kept as the closer),
 * not an orphan's FIN-WAIT-2 that becomes a timewait socket at once (the
 * birth record says it).
 */
static __always_inline bool lean_skip(const struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT || newstate == TCP_SYN_RECV || newstate == TCP_ESTABLISHED ||
	    newstate == TCP_LISTEN || newstate == TCP_FIN_WAIT1)
		return true;
	if (newstate == TCP_CLOSE)
		return oldstate == TCP_LISTEN || oldstate == TCP_SYN_SENT;
	if (oldstate == TCP_FIN_WAIT1 && newstate == TCP_FIN_WAIT2)
		return orphan_becomes_timewait(sk);
	return false;
}

static __always_inline void flush_stash(struct tl_stash *st)
{
	struct tl_event *e;

	st->valid = 0;
	e = reserve();
	if (!e)
		return;
	__builtin_memcpy(e, &st->e, sizeof(*e));
	submit(e);
}

/* ---- full sockets: sock:inet_sock_set_state ---------------------------- */

static __always_inline int handle_set_state(const struct sock *sk, int oldstate, int newstate)
{
	struct tl_tuple t = {};
	struct tl_counters *c;
	struct tl_event *e;
	struct tl_sock *s;
	__u64 now, cookie;
	bool task_ctx, filtered;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (read_tuple_sk(sk, &t))
		return 0;
	/* The socket lock is owned only by the task inside a socket call
	 * (lock_sock); softirq and timers find it unowned (or defer to the
	 * owner's release_sock, which again runs in the owner's context). */
	task_ctx = sk->sk_lock.owned;
	filtered = tuple_filtered(&t);
	/* CLOSE -> SYN_SENT has no local port yet (tcp_v4_connect picks it
	 * after): a port filter cannot judge it, so its owner and entry time go
	 * to socket storage anyway, unshipped, for the connection's later
	 * records should it pass. */
	if (filtered && !(newstate == TCP_SYN_SENT && task_ctx))
		return 0;

	now = bpf_ktime_get_ns();
	cookie = bpf_get_socket_cookie((void *)sk);

	s = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
	if (!s && lean) {
		/* Lean mode keeps per-socket state only where a record that is
		 * not shipped leaves something to remember: the connect() caller
		 * (owner), and from a close()/shutdown() into FIN-WAIT-1 on, the
		 * closer and the entry times. An accepted socket gets its owner
		 * from accept(), and a close() in CLOSE-WAIT is shipped from the
		 * closer's own context: most sockets need no storage at all. */
		if (task_ctx && (newstate == TCP_SYN_SENT || newstate == TCP_FIN_WAIT1)) {
			s = bpf_sk_storage_get(&socks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (!s && (c = ctrs()))
				c->sock_map_full++;
		}
	} else if (!s) {
		bool birth = oldstate == TCP_CLOSE || newstate == TCP_SYN_RECV || oldstate == TCP_LISTEN;
		if (!birth && (c = ctrs()))
			c->sock_untracked++;
		if (newstate != TCP_CLOSE) {
			s = bpf_sk_storage_get(&socks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (!s && (c = ctrs()))
				c->sock_map_full++;
		}
	}
	if (s && task_ctx &&
	    (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN || !s->owner_known))
		set_owner_current(s);
	if (lean && s && task_ctx && !s->closer_known && tl_is_close_call(oldstate, newstate))
		set_closer_current(s);
	/* tcp_close_state() after shutdown(): no new stay, the entry time
	 * stands. Only trace/record ship it, for its caller (the closer). */
	if (oldstate == newstate && (lean || !tl_is_close_call(oldstate, newstate)))
		return 0;

	if (lean && newstate == TCP_CLOSE) {
		__u32 zero = 0;
		struct tl_stash *st = bpf_map_lookup_elem(&stash, &zero);

		if (st && st->valid) {
			if (st->e.cookie != cookie) {
				flush_stash(st);
			} else {
				/* tcp_done() after tcp_time_wait(): one record for both */
				st->valid = 0;
				e = reserve();
				if (e) {
					__builtin_memcpy(e, &st->e, sizeof(*e));
					e->kind = TL_EV_TW_BIRTH;
					e->old_state = oldstate;
					e->aux1 = s && s->entered_ns ? now - s->entered_ns : 0;
					put_owner(e, s, true);
					submit(e);
				}
				return 0;
			}
		}
	}

	if (filtered || (lean && lean_skip(sk, oldstate, newstate)))
		e = NULL;
	else
		e = reserve();
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->kind = TL_EV_STATE;
		e->ts_ns = now;
		e->cookie = cookie;
		e->old_state = oldstate;
		e->new_state = newstate;
		put_tuple(e, &t);
		fill_task(e, task_ctx);
		if (task_ctx)
			e->flags |= TL_F_TASK_CTX;
		if (newstate == TCP_CLOSE && sk->sk_err)
			e->flags |= TL_F_SK_ERR;
		if (newstate == TCP_CLOSE && tw_overflow_close(sk, oldstate, task_ctx))
			e->flags |= TL_F_TW_OVERFLOW;
		if (s && s->entered_ns)
			e->aux0 = now - s->entered_ns;
		put_owner(e, s, closer_side(oldstate, newstate));
		submit(e);
	}

	if (s && oldstate != newstate)
		s->entered_ns = now;
	if (newstate == TCP_SYN_SENT && task_ctx) {
		struct tl_connecting *cn = bpf_task_storage_get(&connecting, bpf_get_current_task_btf(), 0,
								BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (cn) {
			cn->ts_ns = now;
			cn->sk = (__u64)sk;
		}
	}
	return 0;
}

static __always_inline struct tl_hits *hits_of(__u32 hook)
{
	return bpf_map_lookup_elem(&hits, &hook);
}

#define TL_PRIMARY(hook, obj_ptr, hit_tag, call)                             \
	do {                                                                   \
		struct tl_hits *h = hits_of(hook);                             \
		if (h) {                                                       \
			__u32 slot = h->next & (TL_HIT_RING - 1);              \
			h->ring[slot].obj = (__u64)(obj_ptr);                  \
			h->ring[slot].tag = (hit_tag);                         \
			h->next++;                                             \
		}                                                              \
		call;                                                          \
	} while (0)

#define TL_BACKUP(hook, obj_ptr, hit_tag, call)                              \
	do {                                                                   \
		struct tl_hits *h = hits_of(hook);                             \
		struct tl_counters *c;                                         \
		__u64 tag = (hit_tag);                                         \
		if (!h)                                                        \
			return 0;                                              \
		for (int i = 0; i < TL_HIT_RING; i++)                          \
			if (h->ring[i].obj == (__u64)(obj_ptr) && h->ring[i].tag == tag) \
				return 0;                                      \
		if ((c = ctrs()))                                              \
			c->nested_caught++;                                    \
		call;                                                          \
	} while (0)

#define STATE_TAG ((__u64)(oldstate << 4 | newstate))

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tl_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	TL_ENTRY();
	TL_PRIMARY(HOOK_STATE, sk, STATE_TAG, handle_set_state(sk, oldstate, newstate));
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tl_set_state_nested, const struct sock *sk, const int oldstate, const int newstate)
{
	TL_ENTRY();
	TL_BACKUP(HOOK_STATE, sk, STATE_TAG, handle_set_state(sk, oldstate, newstate));
	return 0;
}

/* ---- timewait sockets, followed through tw_timer ----------------------- */

static __always_inline struct inet_timewait_sock *tw_of(struct timer_list *timer)
{
	return (void *)timer - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
}

static __always_inline void tw_fill(struct tl_event *e, struct timer_list *timer, __u8 kind,
				    const struct tl_tuple *t, struct inet_timewait_sock *tw)
{
	__u64 cookie;

	__builtin_memset(e, 0, sizeof(*e));
	cookie = BPF_CORE_READ(tw, __tw_common.skc_cookie.counter);
	if (!cookie) {
		struct tl_counters *c = ctrs();
		if (c)
			c->no_cookie++;
		cookie = (__u64)tw;
		e->flags |= TL_F_NO_COOKIE;
	}
	e->kind = kind;
	e->ts_ns = bpf_ktime_get_ns();
	e->cookie = cookie;
	e->new_state = BPF_CORE_READ(tw, tw_substate);
	e->aux0 = BPF_CORE_READ(timer, expires);
	e->aux1 = bpf_jiffies64();
	e->kaddr = (__u64)tw;
	put_tuple(e, t);
	fill_task(e, false);
}

static __always_inline struct tl_event *tw_event(struct timer_list *timer, __u8 kind,
						 struct tl_tuple *t, struct inet_timewait_sock **twp)
{
	struct inet_timewait_sock *tw = tw_of(timer);
	struct tl_event *e;

	if (read_tuple(&tw->__tw_common, t) || tuple_filtered(t))
		return NULL;
	e = reserve();
	if (!e)
		return NULL;
	tw_fill(e, timer, kind, t, tw);
	*twp = tw;
	return e;
}

static __always_inline int handle_tw_start(struct timer_list *timer, bool rearm)
{
	struct inet_timewait_sock *tw;
	struct tl_tuple t = {};
	struct tl_event *e;

	if (lean && !rearm) {
		__u32 zero = 0;
		struct tl_stash *st = bpf_map_lookup_elem(&stash, &zero);

		tw = tw_of(timer);
		if (read_tuple(&tw->__tw_common, &t) || tuple_filtered(&t))
			return 0;
		if (st) {
			if (st->valid)
				flush_stash(st);
			tw_fill(&st->e, timer, TL_EV_TW_START, &t, tw);
			st->valid = 1;
			return 0;
		}
	}
	e = tw_event(timer, TL_EV_TW_START, &t, &tw);
	if (!e)
		return 0;
	/* The owner is known to userspace from the full socket's events (same
	 * cookie); the timer gives no way back to the full socket. */
	submit(e);
	return 0;
}

static __always_inline bool net_dying(struct inet_timewait_sock *tw)
{
	struct net *net = BPF_CORE_READ(tw, __tw_common.skc_net.net);
	struct ns_common___old {
		refcount_t count;
	} *old_ns;

	if (bpf_core_field_exists(net->ns.__ns_ref))
		return BPF_CORE_READ(net, ns.__ns_ref.refs.counter) == 0;
	old_ns = (void *)&net->ns;
	return BPF_CORE_READ(old_ns, count.refs.counter) == 0;
}

static __always_inline bool same_tuple(const struct sock_common *skc, const struct tl_tuple *t)
{
	struct tl_tuple other = {};

	if (read_tuple(skc, &other))
		return false;
	return other.netns == t->netns && other.lport == t->lport && other.rport == t->rport &&
	       *(__u64 *)&other.raddr[0] == *(__u64 *)&t->raddr[0] &&
	       *(__u64 *)&other.raddr[8] == *(__u64 *)&t->raddr[8];
}

static __always_inline int handle_tw_cancel(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct tl_tuple t = {};
	struct tl_event *e = tw_event(timer, TL_EV_TW_CANCEL, &t, &tw);
	struct tl_connecting *cn;
	__u32 zero = 0;

	if (!e)
		return 0;
	if (e->aux1 >= e->aux0) {
		e->flags |= TL_F_DUE;
	} else if (net_dying(tw)) {
		e->flags |= TL_F_NET_DYING;
	} else {
		cn = bpf_task_storage_get(&connecting, bpf_get_current_task_btf(), 0, 0);
		/* connect() kills the reused timewait socket inside the same
		 * call that moved the new socket to SYN_SENT, once that socket
		 * holds the timewait socket's 4-tuple. */
		if (cn && cn->ts_ns && e->ts_ns - cn->ts_ns < 100000000ULL && same_tuple((void *)cn->sk, &t)) {
			e->flags |= TL_F_CONNECT_REUSE;
			cn->ts_ns = 0;
		} else {
			struct tl_lastkill *k = bpf_map_lookup_elem(&lastkill, &zero);
			if (k) {
				k->ts_ns = e->ts_ns;
				k->cookie = e->cookie;
				k->netns = t.netns;
				k->lport = t.lport;
				k->rport = t.rport;
				__builtin_memcpy(k->raddr, t.raddr, TL_ADDR_LEN);
			}
		}
	}
	submit(e);
	return 0;
}

static __always_inline int handle_tw_expire(struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct tl_tuple t = {};
	struct tl_event *e = tw_event(timer, TL_EV_TW_EXPIRE, &t, &tw);

	if (e)
		submit(e);
	return 0;
}

/* A request socket armed right after an early timewait kill on this CPU,
 * on the same 4-tuple: the kill was a new SYN reusing it. */
static __always_inline int handle_reqsk_start(struct timer_list *timer)
{
	struct request_sock *req = (void *)timer - bpf_core_field_offset(struct request_sock, rsk_timer);
	struct tl_lastkill *k;
	struct tl_tuple t = {};
	struct tl_event *e;
	__u32 zero = 0;

	k = bpf_map_lookup_elem(&lastkill, &zero);
	if (!k || !k->ts_ns)
		return 0;
	if (bpf_ktime_get_ns() - k->ts_ns > 10000000ULL) {
		k->ts_ns = 0;
		return 0;
	}
	if (read_tuple(&req->__req_common, &t))
		return 0;
	if (t.netns != k->netns || t.lport != k->lport || t.rport != k->rport ||
	    *(__u64 *)&t.raddr[0] != *(__u64 *)&k->raddr[0] ||
	    *(__u64 *)&t.raddr[8] != *(__u64 *)&k->raddr[8])
		return 0;
	e = reserve();
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->kind = TL_EV_TW_REUSE;
		e->ts_ns = bpf_ktime_get_ns();
		e->cookie = k->cookie;
		put_tuple(e, &t);
		fill_task(e, false);
		submit(e);
	}
	k->ts_ns = 0;
	return 0;
}

/* Lean mode: remember this timer operation; says whether it completes a
 * re-arm (see tl_lasttimer). */
static __always_inline bool note_timer(struct timer_list *timer, bool cancel)
{
	__u32 zero = 0;
	struct tl_lasttimer *lt;
	bool rearm = false;

	if (!lean)
		return false;
	lt = bpf_map_lookup_elem(&lasttimer, &zero);
	if (!lt)
		return false;
	rearm = !cancel && lt->cancel && lt->timer == (__u64)timer;
	lt->timer = (__u64)timer;
	lt->cancel = cancel;
	return rearm;
}

static __always_inline int handle_timer_start(struct timer_list *timer)
{
	void *fn = timer->function;
	bool rearm = note_timer(timer, false);

	/* Every kernel timer passes here: reject the others first. */
	if (fn == &tw_timer_handler)
		return handle_tw_start(timer, rearm);
	if (fn == &reqsk_timer_handler)
		return handle_reqsk_start(timer);
	return 0;
}

/*
 * The primary records the hit before it filters anything: a nested hit that
 * arrives while it is still rejecting some unrelated timer is skipped by the
 * kernel all the same, and only the backup can pick it up.
 */
SEC("tp_btf/timer_start")
int BPF_PROG(tl_timer_start, struct timer_list *timer, unsigned long bucket_expiry)
{
	TL_ENTRY();
	TL_PRIMARY(HOOK_TSTART, timer, bucket_expiry, handle_timer_start(timer));
	return 0;
}

SEC("tp_btf/timer_start")
int BPF_PROG(tl_timer_start_nested, struct timer_list *timer, unsigned long bucket_expiry)
{
	TL_ENTRY();
	TL_BACKUP(HOOK_TSTART, timer, bucket_expiry, handle_timer_start(timer));
	return 0;
}

static __always_inline int handle_timer_cancel(struct timer_list *timer)
{
	note_timer(timer, true);
	if (timer->function != &tw_timer_handler)
		return 0;
	return handle_tw_cancel(timer);
}

static __always_inline int handle_timer_expire(struct timer_list *timer)
{
	if (timer->function != &tw_timer_handler)
		return 0;
	return handle_tw_expire(timer);
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(tl_timer_cancel, struct timer_list *timer)
{
	TL_ENTRY();
	TL_PRIMARY(HOOK_TCANCEL, timer, timer->expires, handle_timer_cancel(timer));
	return 0;
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(tl_timer_cancel_nested, struct timer_list *timer)
{
	TL_ENTRY();
	TL_BACKUP(HOOK_TCANCEL, timer, timer->expires, handle_timer_cancel(timer));
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tl_timer_expire, struct timer_list *timer, unsigned long baseclk)
{
	TL_ENTRY();
	TL_PRIMARY(HOOK_TEXPIRE, timer, baseclk, handle_timer_expire(timer));
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tl_timer_expire_nested, struct timer_list *timer, unsigned long baseclk)
{
	TL_ENTRY();
	TL_BACKUP(HOOK_TEXPIRE, timer, baseclk, handle_timer_expire(timer));
	return 0;
}

/* ---- accept(): the accepting task owns the socket ---------------------- */

struct sys_exit_args {
	__u64 common;
	long id;
	long ret;
};

static __always_inline int handle_accept_exit(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file **fds, *file;
	struct socket *sock;
	struct sock *sk;
	struct tl_tuple t = {};
	struct tl_event *e;
	__u64 cookie;

	if (fd < 0)
		return 0;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (read_tuple(&sk->__sk_common, &t) || tuple_filtered(&t))
		return 0;
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!cookie)
		return 0; /* born before tracing: userspace attributes it via /proc */
	/* sk came from a probe read, not a BTF pointer: its storage is out of
	 * reach here, so the owner travels in this event only. */
	e = reserve();
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = TL_EV_OWNER;
	e->ts_ns = bpf_ktime_get_ns();
	e->cookie = cookie;
	e->new_state = BPF_CORE_READ(sk, __sk_common.skc_state);
	put_tuple(e, &t);
	fill_task(e, true);
	e->flags |= TL_F_TASK_CTX;
	submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tl_accept4_exit(struct sys_exit_args *ctx)
{
	TL_ENTRY();
	return handle_accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tl_accept_exit(struct sys_exit_args *ctx)
{
	TL_ENTRY();
	return handle_accept_exit(ctx->ret);
}

/* ---- sockets that exist when tracing starts ---------------------------- */

SEC("iter/tcp")
int tl_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tl_tuple t = {};
	struct tl_event e = {};
	__u8 state;

	if (!skc)
		return 0;
	if (read_tuple(skc, &t) || tuple_filtered(&t))
		return 0;
	state = BPF_CORE_READ(skc, skc_state);
	e.kind = TL_EV_EXISTING;
	e.ts_ns = bpf_ktime_get_ns();
	e.new_state = state;
	put_tuple(&e, &t);
	e.abi = TL_ABI_VERSION;
	e.hz = CONFIG_HZ;
	if (state == TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (!tw)
			return 0;
		e.cookie = bpf_get_socket_cookie(tw);
		e.old_state = tw->tw_sk.tw_substate;
		e.aux0 = tw->tw_sk.tw_timer.expires;
		e.aux1 = bpf_jiffies64();
		e.kaddr = (__u64)tw;
	} else if (state != 12 /* NEW_SYN_RECV: request sockets */) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
		if (!tp)
			return 0;
		e.cookie = bpf_get_socket_cookie(tp);
		e.aux0 = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_socket, file, f_inode, i_ino);
		bpf_sk_storage_get(&socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	} else {
		return 0;
	}
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}

/* ---- who holds a socket in CLOSE-WAIT now ----------------------------- */

/*
 * Every open file of every process (iter/task_file walks each task's fd
 * table; threads that share their leader's table are skipped,
 * kernel/bpf/task_iter.c: task_file_seq_get_next). A CLOSE-WAIT socket is
 * a process that has not called close(): after accept-then-fork or an
 * SCM_RIGHTS hand-off that process is not the accept() caller, so the
 * holders are read when stats reports, not guessed from the owner. One pass
 * in the kernel, the struct sock itself: no /proc readlink per fd, no inode
 * matching.
 */
SEC("iter/task_file")
int tl_iter_holders(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct tl_tuple t = {};
	struct tl_holder h = {};
	struct socket *sock;
	struct sock *sk;

	if (!task || !file)
		return 0;
	/* What sock_from_file() checks (f_op == &socket_file_ops), without the
	 * helper (5.11+) or the data symbol (not in kallsyms everywhere): a
	 * sockfs inode whose socket points back at this file. An O_PATH fd on a
	 * socket path has no socket in private_data. */
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != file)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_CLOSE_WAIT)
		return 0;
	if (read_tuple(&sk->__sk_common, &t) || tuple_filtered(&t))
		return 0;
	/* Read, not generated: a socket the tracer follows has its cookie. */
	h.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!h.cookie)
		return 0;
	h.pid = BPF_CORE_READ(task, tgid);
	h.fd = ctx->fd;
	h.cgroup = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&h.comm, task, comm);
	bpf_seq_write(ctx->meta->seq, &h, sizeof(h));
	return 0;
}

/* ---- on-demand timewait probe (see tcplinger.h) ------------------------ */

/* In .bss: userspace reads and writes them through the mmap'ed skeleton, no syscall per socket. */
__u32 tw_probe_n = 0;
struct tl_tw_probe_req tw_probe_in[TL_TW_PROBE_MAX] = {};
struct tl_tw_probe_res tw_probe_out[TL_TW_PROBE_MAX] = {};

static long probe_one(__u32 i, void *ctx)
{
	struct tl_tw_probe_req *req;
	struct tl_tw_probe_res *res;
	struct inet_timewait_sock *tw;
	__u64 cookie = 0;

	if (i >= TL_TW_PROBE_MAX)
		return 1;
	req = &tw_probe_in[i];
	res = &tw_probe_out[i];
	res->valid = 0;
	tw = (void *)req->kaddr;
	if (bpf_probe_read_kernel(&cookie, sizeof(cookie), &tw->__tw_common.skc_cookie) ||
	    cookie != req->cookie)
		return 0;
	res->substate = BPF_CORE_READ(tw, tw_substate);
	res->expires = BPF_CORE_READ(tw, tw_timer.expires);
	res->jiffies = bpf_jiffies64();
	res->ts_ns = bpf_ktime_get_ns();
	/* still a timewait socket with the same cookie: the answer stands */
	if (BPF_CORE_READ(tw, __tw_common.skc_state) == TCP_TIME_WAIT)
		res->valid = 1;
	return 0;
}

/* One (jiffies, ktime) pair per run, jiffies read first so the pair never
 * has jiffies ahead of the time: userspace runs this in a loop at start
 * until jiffies change, which dates a jiffy boundary to a few microseconds
 * (Tracer::clock_sample, Engine JiffyClock). */
__u64 tw_clock_jiffies = 0;
__u64 tw_clock_ns = 0;
__u32 tw_clock_hz = 0;

SEC("raw_tp")
int tl_tw_probe(void *ctx)
{
	__u32 n = tw_probe_n;

	tw_clock_jiffies = bpf_jiffies64();
	tw_clock_ns = bpf_ktime_get_ns();
	tw_clock_hz = CONFIG_HZ;

	if (n > TL_TW_PROBE_MAX)
		n = TL_TW_PROBE_MAX;
	bpf_loop(n, probe_one, NULL, 0);
	return 0;
}
