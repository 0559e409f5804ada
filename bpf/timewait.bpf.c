// SPDX-License-Identifier: GPL-2.0
/*
 * Timewait sockets, followed through their timer. tcp_time_wait()
 * (tcp_minisocks.c) moves the connection into an inet_timewait_sock whose
 * tw_timer runs tw_timer_handler (inet_timewait_sock.c); the timer
 * tracepoints say when it is armed (birth, re-arm), cancelled (expiry, early
 * kill, first half of a re-arm) and run. They fire for every timer_list in
 * the kernel, so each program's first act is to compare timer->function with
 * tw_timer_handler (timer_start also takes reqsk_timer_handler); any other
 * timer costs that compare and nothing else. Also here: the on-demand probe
 * of timewait sockets still in FIN-WAIT-2 (see tcplinger.h).
 */
#include "common.bpf.h"
#include "lean.bpf.h"

/* Last early timewait kill on this CPU, waiting to see whether a new
 * request socket on the same 4-tuple follows (tcp_ipv4.c: TCP_TW_SYN). */
struct tl_lastkill {
	__u64 ts_ns;
	__u64 cookie;
	__u32 netns;
	__u16 lport;
	__u16 rport;
	__u8 raddr[TL_ADDR_LEN];
};

TL_PERCPU_SLOT(lastkill, struct tl_lastkill)

static __always_inline bool is_tw_timer(const struct timer_list *timer)
{
	void *fn = timer->function;

	return fn == &tw_timer_handler;
}

static __always_inline struct inet_timewait_sock *tw_of(struct timer_list *timer)
{
	return (void *)timer - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
}

static __always_inline void tw_fill(struct tl_counters *c, struct tl_event *e, struct timer_list *timer, __u8 kind,
				    const struct tl_tuple *t, struct inet_timewait_sock *tw)
{
	__u64 cookie;

	__builtin_memset(e, 0, sizeof(*e));
	/* inet_twsk_alloc() copies the full socket's cookie, which is 0 if
	 * nothing ever asked for it (sock_gen_cookie is lazy). */
	cookie = BPF_CORE_READ(tw, __tw_common.skc_cookie.counter);
	if (!cookie) {
		TL_COUNT(c, no_cookie);
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

/* A reserved, filled record for this timewait timer, or NULL (filtered out
 * or the ring is full). */
static __always_inline struct tl_event *tw_event(struct tl_counters *c, struct timer_list *timer, __u8 kind,
						 struct tl_tuple *t)
{
	struct inet_timewait_sock *tw = tw_of(timer);
	struct tl_event *e;

	if (read_tuple(&tw->__tw_common, t) || tuple_filtered(t))
		return NULL;
	e = reserve(c);
	if (!e)
		return NULL;
	tw_fill(c, e, timer, kind, t, tw);
	return e;
}

static __always_inline int handle_tw_start(struct tl_counters *c, struct timer_list *timer)
{
	bool rearm = note_timer(timer, TIMER_OP_START);
	struct tl_tuple t = {};
	struct tl_event *e;

	if (lean && !rearm) {
		struct inet_timewait_sock *tw = tw_of(timer);
		struct tl_stash *st;

		if (read_tuple(&tw->__tw_common, &t) || tuple_filtered(&t))
			return 0;
		st = stash_birth(c);
		if (st) {
			tw_fill(c, &st->e, timer, TL_EV_TW_START, &t, tw);
			st->valid = 1;
			return 0;
		}
	}
	/* The owner is known to userspace from the full socket's events (same
	 * cookie); the timer gives no way back to the full socket. */
	e = tw_event(c, timer, TL_EV_TW_START, &t);
	if (e)
		submit(c, e);
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

/* Why the timer is detached (the engine settles it with what follows):
 * due (expiry, see KERNEL_NOTES), the netns going away (purge), connect()
 * reusing the 4-tuple (tcp_tw_reuse), or an early kill that a request
 * socket on the same 4-tuple may explain (lastkill). */
static __always_inline int handle_tw_cancel(struct tl_counters *c, struct timer_list *timer)
{
	struct tl_tuple t = {};
	struct tl_event *e;
	struct tl_connecting *cn;

	note_timer(timer, TIMER_OP_CANCEL);
	e = tw_event(c, timer, TL_EV_TW_CANCEL, &t);
	if (!e)
		return 0;
	if (e->aux1 >= e->aux0) {
		e->flags |= TL_F_DUE;
	} else if (net_dying(tw_of(timer))) {
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
			struct tl_lastkill *k = lastkill_here();
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
	submit(c, e);
	return 0;
}

static __always_inline int handle_tw_expire(struct tl_counters *c, struct timer_list *timer)
{
	struct tl_tuple t = {};
	struct tl_event *e;

	note_timer(timer, TIMER_OP_EXPIRE);
	e = tw_event(c, timer, TL_EV_TW_EXPIRE, &t);
	if (e)
		submit(c, e);
	return 0;
}

/* A request socket armed right after an early timewait kill on this CPU,
 * on the same 4-tuple: the kill was a new SYN reusing it. */
static __always_inline int handle_reqsk_start(struct tl_counters *c, struct timer_list *timer)
{
	struct request_sock *req = (void *)timer - bpf_core_field_offset(struct request_sock, rsk_timer);
	struct tl_lastkill *k;
	struct tl_tuple t = {};
	struct tl_event *e;

	note_timer(timer, TIMER_OP_START);
	k = lastkill_here();
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
	e = reserve(c);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->kind = TL_EV_TW_REUSE;
		e->ts_ns = bpf_ktime_get_ns();
		e->cookie = k->cookie;
		put_tuple(e, &t);
		fill_task(e, false);
		submit(c, e);
	}
	k->ts_ns = 0;
	return 0;
}

/* ---- the three timer tracepoints, primary and backup ------------------- */

/* A timewait timer first (the compare every other timer fails), then a
 * request socket's (a new SYN that may have reused a timewait 4-tuple). */
static __always_inline bool start_wanted(const struct timer_list *timer)
{
	void *fn = timer->function;

	return fn == &tw_timer_handler || fn == &reqsk_timer_handler;
}

static __always_inline int handle_timer_start(struct tl_counters *c, struct timer_list *timer)
{
	if (is_tw_timer(timer))
		return handle_tw_start(c, timer);
	return handle_reqsk_start(c, timer);
}

TL_PAIR(tl_timer_start, timer_start, HOOK_TSTART, start_wanted(timer), timer, bucket_expiry,
	handle_timer_start, (timer), struct timer_list *timer, unsigned long bucket_expiry)
TL_PAIR(tl_timer_cancel, timer_cancel, HOOK_TCANCEL, is_tw_timer(timer), timer, timer->expires,
	handle_tw_cancel, (timer), struct timer_list *timer)
TL_PAIR(tl_timer_expire, timer_expire_entry, HOOK_TEXPIRE, is_tw_timer(timer), timer, baseclk,
	handle_tw_expire, (timer), struct timer_list *timer, unsigned long baseclk)

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
