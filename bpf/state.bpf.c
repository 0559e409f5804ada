// SPDX-License-Identifier: GPL-2.0
/*
 * Full sockets: every TCP state transition (tp_btf/inet_sock_set_state,
 * fired by inet_sk_state_store and tcp_set_state). The TIME-WAIT part of a
 * connection is not here: tcp_time_wait() hands it to a timewait socket,
 * followed in timewait.bpf.c.
 */
#include "common.bpf.h"
#include "lean.bpf.h"

/* One license for the linked object (bpftool gen object keeps one). */
char LICENSE[] SEC("license") = "GPL";

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

/* The socket's storage, created where this transition needs it. A socket
 * without storage in trace/record mode was there before tracing began (or
 * evicted): sock_untracked, unless this transition is its birth. */
static __always_inline struct tl_sock *sock_storage(struct tl_counters *c, const struct sock *sk, bool task_ctx,
						    int oldstate, int newstate)
{
	struct tl_sock *s = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
	bool create;

	if (s)
		return s;
	if (lean) {
		create = lean_wants_storage(task_ctx, newstate);
	} else {
		bool birth = oldstate == TCP_CLOSE || newstate == TCP_SYN_RECV || oldstate == TCP_LISTEN;

		if (!birth)
			TL_COUNT(c, sock_untracked);
		create = newstate != TCP_CLOSE;
	}
	if (!create)
		return NULL;
	s = bpf_sk_storage_get(&socks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s)
		TL_COUNT(c, sock_map_full);
	return s;
}

static __always_inline void set_owner_current(struct tl_sock *s)
{
	s->owner_pid = bpf_get_current_pid_tgid() >> 32;
	s->owner_cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(s->owner_comm, sizeof(s->owner_comm));
	s->owner_known = 1;
}

static __always_inline void emit_state(struct tl_counters *c, const struct sock *sk, const struct tl_tuple *t,
				       const struct tl_sock *s, __u64 now, __u64 cookie, bool task_ctx,
				       int oldstate, int newstate)
{
	struct tl_event *e = reserve(c);

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = TL_EV_STATE;
	e->ts_ns = now;
	e->cookie = cookie;
	e->old_state = oldstate;
	e->new_state = newstate;
	put_tuple(e, t);
	fill_task(e, task_ctx);
	if (task_ctx)
		e->flags |= TL_F_TASK_CTX;
	if (newstate == TCP_CLOSE && sk->sk_err)
		e->flags |= TL_F_SK_ERR;
	if (newstate == TCP_CLOSE && tw_overflow_close(sk, oldstate, task_ctx))
		e->flags |= TL_F_TW_OVERFLOW;
	if (s && s->entered_ns)
		e->aux0 = now - s->entered_ns;
	put_owner(e, s);
	submit(c, e);
}

static __always_inline int handle_set_state(struct tl_counters *c, const struct sock *sk, int oldstate, int newstate)
{
	struct tl_tuple t = {};
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

	s = sock_storage(c, sk, task_ctx, oldstate, newstate);
	if (s && task_ctx && (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN || !s->owner_known))
		set_owner_current(s);
	lean_note_closer(s, task_ctx, oldstate, newstate);
	if (oldstate == newstate && !ships_transition(sk, oldstate, newstate))
		return 0;
	if (lean && newstate == TCP_CLOSE && merge_birth(c, cookie, oldstate, now, s))
		return 0;

	if (!filtered && ships_transition(sk, oldstate, newstate))
		emit_state(c, sk, &t, s, now, cookie, task_ctx, oldstate, newstate);

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

/* The hit's identity: the socket and its transition. */
static __always_inline __u64 state_tag(int oldstate, int newstate)
{
	return (__u64)(oldstate << 4 | newstate);
}

/* Every transition is wanted: the primary records it before any filter. */
TL_PAIR(tl_set_state, inet_sock_set_state, HOOK_STATE, true, sk, state_tag(oldstate, newstate),
	handle_set_state, (sk, oldstate, newstate), const struct sock *sk, const int oldstate, const int newstate)
