// SPDX-License-Identifier: GPL-2.0
/*
 * Who owns a socket. The connect() and listen() callers are seen in
 * state.bpf.c (their transitions run in the caller's context, under its
 * socket lock), and so are the close()/shutdown() callers, the closers.
 * Passive sockets are born in softirq (LISTEN -> SYN_RECV on the child):
 * their owner is the task that accept()s them, seen here at the syscall's
 * return, so a pre-forked worker is named, not the listener's parent.
 */
#include "common.bpf.h"

struct sys_exit_args {
	__u64 common;
	long id;
	long ret;
};

static __always_inline int handle_accept_exit(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tl_counters *c;
	struct file **fds, *file;
	struct socket *sock;
	struct sock *sk;
	struct tl_tuple t = {};
	struct tl_event *e;
	__u64 cookie;

	if (fd < 0)
		return 0;
	/* current->files->fdt->fd[ret]->private_data->sk (KERNEL_NOTES) */
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
	c = counters_here();
	if (!c)
		return 0;
	/* sk came from a probe read, not a BTF pointer: its storage is out of
	 * reach here, so the owner travels in this event only. */
	e = reserve(c);
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
	submit(c, e);
	return 0;
}

/* Classic tracepoints (tracefs needed, see KERNEL_NOTES): no tp_btf for
 * syscall exits. Neither can nest in itself (process context). */
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
