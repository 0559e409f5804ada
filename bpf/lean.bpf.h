/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lean mode (stats, rodata `lean`): everything it does differently, one
 * function per concern. trace and record get every transition; stats ships
 * only what lingering stays need, and keeps the rest in socket storage so
 * every shipped record still carries the exact time spent in its old state
 * (aux0) and the process the stay is charged to.
 *
 *   storage    lean_wants_storage: which sockets get socket storage at all
 *   closer     lean_note_closer: the close()/shutdown() caller, kept
 *   shipping   ships_transition: which transitions leave as records
 *   owner      put_owner: the closer, once known, fills the owner slot
 *   births     stash_birth / merge_birth: a timewait socket's birth and its
 *              full socket's X -> CLOSE leave as one TL_EV_TW_BIRTH record
 *   re-arms    note_timer: a re-arm is shipped at once, never held back
 */
#ifndef TCPLINGER_LEAN_BPF_H
#define TCPLINGER_LEAN_BPF_H

#include "common.bpf.h"

/* ---- storage ------------------------------------------------------------- */

/* Lean mode keeps per-socket state only where a record that is not shipped
 * leaves something to remember: the connect() caller (owner), and from a
 * close()/shutdown() into FIN-WAIT-1 on, the closer and the entry times. An
 * accepted socket gets its owner from accept(), and a close() in CLOSE-WAIT
 * is shipped from the closer's own context: most sockets need no storage. */
static __always_inline bool lean_wants_storage(bool task_ctx, int newstate)
{
	return task_ctx && (newstate == TCP_SYN_SENT || newstate == TCP_FIN_WAIT1);
}

/* ---- closer -------------------------------------------------------------- */

static __always_inline void set_closer_current(struct tl_sock *s)
{
	s->closer_pid = bpf_get_current_pid_tgid() >> 32;
	s->closer_cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(s->closer_comm, sizeof(s->closer_comm));
	s->closer_known = 1;
}

/* The close() call itself is not shipped in lean mode: its caller is kept. */
static __always_inline void lean_note_closer(struct tl_sock *s, bool task_ctx, int oldstate, int newstate)
{
	if (lean && s && task_ctx && !s->closer_known && tl_is_close_call(oldstate, newstate))
		set_closer_current(s);
}

/* ---- shipping ------------------------------------------------------------ */

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
	/* tcp.c: tcp_fin_time() */
	rto = BPF_CORE_READ(tp, inet_conn.icsk_rto);
	if (fin_timeout < (rto << 2) - (rto >> 1))
		fin_timeout = (rto << 2) - (rto >> 1);
	return fin_timeout <= 60 * (int)CONFIG_HZ;
}

/*
 * Is this transition shipped as a TL_EV_STATE record? Lean mode ships only
 * what lingering stays need: not connection set-up (into SYN-SENT,
 * SYN-RECV, ESTABLISHED, LISTEN; a refused connect or closed listener), not
 * the close() call itself (its caller is kept as the closer), not an
 * orphan's FIN-WAIT-2 that becomes a timewait socket at once (the birth
 * record says it).
 */
static __always_inline bool ships_transition(const struct sock *sk, int oldstate, int newstate)
{
	/* tcp_close_state() after shutdown(): no new stay, the entry time
	 * stands. Only trace/record ship it, for its caller (the closer). */
	if (oldstate == newstate)
		return !lean && tl_is_close_call(oldstate, newstate);
	if (!lean)
		return true;
	if (newstate == TCP_SYN_SENT || newstate == TCP_SYN_RECV || newstate == TCP_ESTABLISHED ||
	    newstate == TCP_LISTEN || newstate == TCP_FIN_WAIT1)
		return false;
	if (newstate == TCP_CLOSE)
		return oldstate != TCP_LISTEN && oldstate != TCP_SYN_SENT;
	if (oldstate == TCP_FIN_WAIT1 && newstate == TCP_FIN_WAIT2)
		return !orphan_becomes_timewait(sk);
	return true;
}

/* ---- owner --------------------------------------------------------------- */

/*
 * Facts, not a charging rule: the record has one process slot, and in lean
 * mode (where the close() call itself is not shipped) it carries the closer
 * once one is known, flagged TL_F_OWNER_IS_CLOSER, else the owner. Who a
 * stay is charged to is decided in userspace alone (lifecycle/engine.cpp:
 * responsible(), the closer once known, else the owner).
 */
static __always_inline void put_owner(struct tl_event *e, const struct tl_sock *s)
{
	if (!s)
		return;
	if (lean && s->closer_known) {
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

/* ---- births -------------------------------------------------------------- */

/*
 * tcp_time_wait() (tcp_minisocks.c) arms the new timewait socket's timer,
 * then tcp_done() moves the full socket to CLOSE, on the same CPU with
 * bottom halves off. The birth waits here and leaves as one TL_EV_TW_BIRTH
 * record with that transition (or alone, as TL_EV_TW_START, if anything
 * else comes first).
 */
struct tl_stash {
	struct tl_event e;
	__u64 valid;
};

TL_PERCPU_SLOT(stash, struct tl_stash)

static __always_inline void flush_stash(struct tl_counters *c, struct tl_stash *st)
{
	struct tl_event *e;

	st->valid = 0;
	e = reserve(c);
	if (!e)
		return;
	__builtin_memcpy(e, &st->e, sizeof(*e));
	submit(c, e);
}

/* A timewait birth (lean mode): whatever waited is shipped; the caller
 * fills the slot and marks it valid. NULL: ship the birth at once. */
static __always_inline struct tl_stash *stash_birth(struct tl_counters *c)
{
	struct tl_stash *st = stash_here();

	if (st && st->valid)
		flush_stash(c, st);
	return st;
}

/* X -> CLOSE of a full socket (lean mode). If it is the tcp_done() after
 * the stashed birth of its own timewait socket, both leave as one record
 * and this returns true: the transition needs no record of its own. */
static __always_inline bool merge_birth(struct tl_counters *c, __u64 cookie, int oldstate, __u64 now,
					const struct tl_sock *s)
{
	struct tl_stash *st = stash_here();
	struct tl_event *e;

	if (!st || !st->valid)
		return false;
	if (st->e.cookie != cookie) {
		flush_stash(c, st);
		return false;
	}
	st->valid = 0;
	e = reserve(c);
	if (e) {
		__builtin_memcpy(e, &st->e, sizeof(*e));
		e->kind = TL_EV_TW_BIRTH;
		e->old_state = oldstate;
		e->aux1 = s && s->entered_ns ? now - s->entered_ns : 0;
		put_owner(e, s);
		submit(c, e);
	}
	return true;
}

/* ---- re-arms ------------------------------------------------------------- */

/*
 * The last timewait (or request socket) timer operation on this CPU. A
 * re-arm through __mod_timer's slow path (kernel/time/timer.c) is a
 * timer_cancel immediately followed by a timer_start of the same timer,
 * with the base lock held and interrupts off, so nothing else on this CPU
 * comes between; a birth never follows a cancel of its own timer in one
 * call. Only timewait and request socket timers are noted (every other
 * timer is rejected before any map lookup): a birth at the address of a
 * timewait socket just killed on this CPU, with no timewait timer operation
 * between, is then taken for a re-arm and shipped at once as TL_EV_TW_START
 * with its X -> CLOSE apart: one record more, the same figures.
 */
struct tl_lasttimer {
	__u64 timer;
	__u64 cancel;
};

TL_PERCPU_SLOT(lasttimer, struct tl_lasttimer)

enum timer_op { TIMER_OP_START, TIMER_OP_CANCEL, TIMER_OP_EXPIRE };

/* Remembers this operation; says whether it completes a re-arm. */
static __always_inline bool note_timer(struct timer_list *timer, enum timer_op op)
{
	struct tl_lasttimer *lt;
	bool rearm;

	if (!lean)
		return false;
	lt = lasttimer_here();
	if (!lt)
		return false;
	rearm = op == TIMER_OP_START && lt->cancel && lt->timer == (__u64)timer;
	/* An expired timer is not re-armed: tw_timer_handler kills the socket
	 * (inet_timewait_sock.c: inet_twsk_kill). */
	lt->timer = op == TIMER_OP_EXPIRE ? 0 : (__u64)timer;
	lt->cancel = op == TIMER_OP_CANCEL;
	return rearm;
}

#endif
