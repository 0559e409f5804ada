/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every tcplinger BPF source shares: the filters userspace sets before
 * load, the maps, and the helpers that read a socket's 4-tuple and build,
 * count and ship a record. The sources (state, timewait, owner, iter) are
 * compiled apart and linked into one object (bpftool gen object, see
 * CMakeLists.txt), so there is still one skeleton.
 *
 * libbpf's static linker merges globals by name: every map and rodata
 * variable here is defined __weak, so each source may include this header
 * and the linked object holds exactly one of each (all definitions are this
 * one; the linker checks that their BTF types agree).
 */
#ifndef TCPLINGER_COMMON_BPF_H
#define TCPLINGER_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcplinger.h"

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
/* include/net/tcp_states.h */
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
#define TCP_NEW_SYN_RECV 12
/* enum sock_flags */
#define SOCK_DEAD 0
#define SOCK_DONE 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* ---- set by userspace before load (rodata) ------------------------------ */

/* Filters; 0 means "any". */
const volatile __u32 filter_netns __weak = 0;
const volatile __u8 filter_family __weak = 0; /* 4 or 6 */
const volatile __u16 filter_lport __weak = 0;
const volatile __u16 filter_rport __weak = 0;
const volatile __u16 filter_port __weak = 0; /* either side */
/* Wake the reader once this many bytes are waiting; otherwise it polls on a
 * short timeout (batched wakeups, see the performance issue). */
const volatile __u64 wakeup_bytes __weak = 1 << 20;
/* stats only: ship what lingering stays need and nothing else. Every
 * difference it makes is in lean.bpf.h. */
const volatile bool lean __weak = false;

extern const void tw_timer_handler __ksym;
extern const void reqsk_timer_handler __ksym;
extern unsigned int CONFIG_HZ __kconfig;

/* ---- maps ---------------------------------------------------------------- */

/* A per-CPU slot: a one-entry per-CPU array `name` holding one value_type,
 * read through name##_here() (NULL only if the map cannot be read). */
#define TL_PERCPU_SLOT(name, value_type)                                   \
	struct {                                                           \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                   \
		__uint(max_entries, 1);                                    \
		__type(key, __u32);                                        \
		__type(value, value_type);                                 \
	} name SEC(".maps") __weak;                                        \
	static __always_inline value_type *name##_here(void)               \
	{                                                                  \
		__u32 zero = 0;                                            \
		return bpf_map_lookup_elem(&name, &zero);                  \
	}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps") __weak;

/* Per-CPU drop and health counters (struct tl_counters, summed by
 * userspace). A program looks them up once (counters_here) and passes the
 * pointer on. */
TL_PERCPU_SLOT(counters, struct tl_counters)

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
} socks SEC(".maps") __weak;

struct tl_connecting {
	__u64 ts_ns;
	__u64 sk; /* the connecting socket, alive for the whole connect() call */
};

/* Last connect() per thread (task local storage): a timewait kill that this
 * thread causes right after is a tcp_tw_reuse (inet_hashtables.c:
 * __inet_check_established). Written by state.bpf.c, read by timewait.bpf.c. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tl_connecting);
} connecting SEC(".maps") __weak;

/* ---- counters and the ring buffer ---------------------------------------- */

/* Atomic: a softirq can run a backup program on this CPU in the middle of a
 * primary's read-modify-write, and a plain ++ would then lose one count. */
#define TL_COUNT(ctr, field) __sync_fetch_and_add(&(ctr)->field, 1)

static __always_inline struct tl_event *reserve(struct tl_counters *c)
{
	struct tl_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		TL_COUNT(c, ringbuf_drops);
		return NULL;
	}
	TL_COUNT(c, events);
	return e;
}

/* How often (in records per CPU) submit() looks at the backlog. */
#define TL_BACKLOG_EVERY 64

static __always_inline void submit(struct tl_counters *c, struct tl_event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	/* The reader polls every 50 ms; wake it early only when the backlog
	 * is past wakeup_bytes. Looked at once per TL_BACKLOG_EVERY records
	 * of this CPU, not per record (bpf_ringbuf_query is a helper call):
	 * the ring holds 4 * wakeup_bytes, far more than the records a few
	 * CPUs submit between two looks. */
	if ((c->events & (TL_BACKLOG_EVERY - 1)) == 0 &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
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

/* ---- 4-tuples and filters ------------------------------------------------ */

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

/* ---- primary and backup programs ----------------------------------------- */

/*
 * A softirq that hits a tracepoint while the same program already runs on
 * that CPU is skipped by the kernel (kernel/trace/bpf_trace.c:
 * __bpf_trace_run, prog->active; counted in recursion_misses). So each
 * program has a backup copy attached after it. The primary's first act is
 * to write the hit's identity into a per-CPU ring; the backup, which runs
 * after the primary for every hit, handles exactly the hits whose identity
 * is not in the ring, including those that arrive while the kernel already
 * counts the primary as running but before its first instruction (a busy
 * flag raised by the program itself cannot cover that gap).
 */
enum hook { HOOK_STATE, HOOK_TSTART, HOOK_TCANCEL, HOOK_TEXPIRE, HOOK_N };

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
} hits SEC(".maps") __weak;

static __always_inline void hit_record(__u32 hook, __u64 obj, __u64 tag)
{
	struct tl_hits *h = bpf_map_lookup_elem(&hits, &hook);
	__u32 slot;

	if (!h)
		return;
	slot = h->next & (TL_HIT_RING - 1);
	h->ring[slot].obj = obj;
	h->ring[slot].tag = tag;
	h->next++;
}

/* Did the primary take this hit? (If the ring cannot be read, say yes: the
 * backup then does nothing, as it would without a primary miss.) */
static __always_inline bool hit_recorded(__u32 hook, __u64 obj, __u64 tag)
{
	struct tl_hits *h = bpf_map_lookup_elem(&hits, &hook);

	if (!h)
		return true;
	for (int i = 0; i < TL_HIT_RING; i++)
		if (h->ring[i].obj == obj && h->ring[i].tag == tag)
			return true;
	return false;
}

#define TL_EXPAND(...) __VA_ARGS__

/*
 * One primary/backup pair on tp_btf/<tp>: programs <name> and <name>_nested,
 * with the tracepoint's arguments as declared in the trailing parameters.
 * Every other macro argument is an expression over those parameters, or a
 * function given by name:
 *   wanted  first test of every hit in both programs; a hit it rejects costs
 *           nothing more (the timer hooks reject every non-timewait timer
 *           here, before any map lookup)
 *   obj, tag  the hit's identity in the hit ring
 *   handle  called as handle(counters, call_args...), returns the program's
 *           value; counters is looked up once per run
 * Backups are attached after their primaries (user/tracer/tracer.cpp), so a
 * backup runs after its primary for the same hit.
 */
#define TL_PAIR(name, tp, hook, wanted, obj, tag, handle, call_args, ...)              \
	SEC("tp_btf/" #tp)                                                               \
	int BPF_PROG(name, __VA_ARGS__)                                                  \
	{                                                                                \
		struct tl_counters *ctr_;                                                \
		TL_ENTRY();                                                              \
		if (!(wanted))                                                           \
			return 0;                                                        \
		hit_record(hook, (__u64)(obj), (tag));                                   \
		ctr_ = counters_here();                                                  \
		if (!ctr_)                                                               \
			return 0;                                                        \
		return handle(ctr_, TL_EXPAND call_args);                                \
	}                                                                                \
	SEC("tp_btf/" #tp)                                                               \
	int BPF_PROG(name##_nested, __VA_ARGS__)                                         \
	{                                                                                \
		struct tl_counters *ctr_;                                                \
		TL_ENTRY();                                                              \
		if (!(wanted))                                                           \
			return 0;                                                        \
		if (hit_recorded(hook, (__u64)(obj), (tag)))                             \
			return 0;                                                        \
		ctr_ = counters_here();                                                  \
		if (!ctr_)                                                               \
			return 0;                                                        \
		TL_COUNT(ctr_, nested_caught);                                           \
		return handle(ctr_, TL_EXPAND call_args);                                \
	}

#endif
