// SPDX-License-Identifier: GPL-2.0
/*
 * Iterators, run by userspace on demand (never on a hot path): the sockets
 * that exist when tracing starts (iter/tcp), and who holds a CLOSE-WAIT
 * socket now (iter/task_file). Both write their answers to the seq file
 * userspace reads (bpf_seq_write), not to the ring buffer.
 */
#include "common.bpf.h"

/* ---- sockets that exist when tracing starts ---------------------------- */

/* bpf_iter_tcp walks listen, request, full and timewait sockets of the
 * reader's network namespace (net/ipv4/tcp_ipv4.c: bpf_iter_tcp_seq_show). */
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
	} else if (state != TCP_NEW_SYN_RECV /* request sockets */) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
		if (!tp)
			return 0;
		e.cookie = bpf_get_socket_cookie(tp);
		e.aux0 = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_socket, file, f_inode, i_ino);
		/* Storage now: its later transitions are not sock_untracked. */
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
