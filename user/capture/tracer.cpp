#include "capture/tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/abi_check.hpp"
#include "core/error.hpp"
#include "core/typed_event.hpp"
#include "host/netns.hpp"
#include "host/privileges.hpp"
#include "host/proc.hpp"
#include "tcplinger.skel.h"

namespace tcplinger {

namespace {
bool g_verbose = false;

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (!g_verbose && level != LIBBPF_WARN) return 0;
    if (!g_verbose) return 0;  // warnings become our own one-line errors
    return std::vfprintf(stderr, fmt, args);
}

std::string errstr(int err) { return std::strerror(err < 0 ? -err : err); }

std::string load_hint(int err) {
    if (err == -EPERM || err == -EACCES) return ": run as root (sudo) or grant CAP_BPF and CAP_PERFMON";
    return ": rerun with -v for libbpf's log";
}

struct ProgramPair {
    bpf_program* primary;
    bpf_program* backup;
};
}  // namespace

struct Tracer::Impl {
    tcplinger_bpf* skel = nullptr;
    ring_buffer* rb = nullptr;
    const Callback* cb = nullptr;
    std::vector<bpf_link*> links;
    std::vector<ProgramPair> pairs;
    KernelFilter filter;
    // Sockets touched between attach and the end of the snapshot were not in
    // the socket map yet; they are not evictions.
    uint64_t untracked_baseline = 0;
    bpf_link* holders_link = nullptr;  // iter/task_file, attached at the first socket_holders()
    unsigned warned_not_joined = 0;    // sockets_now() says it once

    static int on_record(void* ctx, void* data, size_t size) {
        auto* self = static_cast<Impl*>(ctx);
        if (size < sizeof(tl_event)) return 0;
        auto ev = decode(*static_cast<const tl_event*>(data));
        if (ev && self->cb) (*self->cb)(*ev);
        return 0;
    }

    ~Impl() {
        if (holders_link) bpf_link__destroy(holders_link);
        if (rb) ring_buffer__free(rb);
        for (auto* l : links) bpf_link__destroy(l);
        if (skel) tcplinger_bpf__destroy(skel);
    }
};

Tracer::Tracer(const TracerOptions& opts) : impl_(std::make_unique<Impl>()) {
    sys::check_can_trace();
    g_verbose = opts.verbose;
    libbpf_set_print(libbpf_log);
    impl_->filter = opts.filter;

    auto* skel = tcplinger_bpf__open();
    if (!skel) throw FatalError("failed to open BPF object: " + errstr(errno));
    impl_->skel = skel;
    skel->rodata->filter_netns = opts.filter.netns;
    skel->rodata->filter_family = opts.filter.family;
    skel->rodata->filter_lport = opts.filter.lport;
    skel->rodata->filter_rport = opts.filter.rport;
    skel->rodata->filter_port = opts.filter.port;
    skel->rodata->lean = opts.lean;
    uint32_t rb_bytes = opts.ringbuf_mb << 20;
    skel->rodata->wakeup_bytes = rb_bytes / 4;
    bpf_map__set_max_entries(skel->maps.events, rb_bytes);

    accept_attached_ = opts.accept_owner && sys::ensure_tracefs();
    if (!accept_attached_) {
        bpf_program__set_autoload(skel->progs.tl_accept4_exit, false);
        bpf_program__set_autoload(skel->progs.tl_accept_exit, false);
    }
    // The iterator is attached on demand by snapshot(); the probe is only run.
    bpf_program__set_autoattach(skel->progs.tl_iter_tcp, false);
    bpf_program__set_autoattach(skel->progs.tl_iter_holders, false);
    bpf_program__set_autoattach(skel->progs.tl_tw_probe, false);

    int err = tcplinger_bpf__load(skel);
    if (err) throw FatalError("failed to load BPF programs: " + errstr(err) + load_hint(err));

    // Order matters: each backup program must run after its primary on
    // the same tracepoint (probes run in registration order).
    bpf_program* order[] = {
        skel->progs.tl_set_state,          skel->progs.tl_set_state_nested,    skel->progs.tl_timer_start,
        skel->progs.tl_timer_start_nested, skel->progs.tl_timer_cancel,        skel->progs.tl_timer_cancel_nested,
        skel->progs.tl_timer_expire,       skel->progs.tl_timer_expire_nested,
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); ++i) {
        if (i % 2 == 1 && !opts.backups) {
            impl_->pairs.push_back({order[i - 1], nullptr});
            continue;
        }
        bpf_link* link = bpf_program__attach(order[i]);
        if (!link)
            throw FatalError(std::string("failed to attach ") + bpf_program__name(order[i]) + ": " + errstr(errno) +
                             load_hint(-errno));
        impl_->links.push_back(link);
        if (i % 2 == 1) impl_->pairs.push_back({order[i - 1], order[i]});
    }
    if (accept_attached_) {
        for (bpf_program* p : {skel->progs.tl_accept4_exit, skel->progs.tl_accept_exit}) {
            bpf_link* link = bpf_program__attach(p);
            if (!link) {
                accept_attached_ = false;
                break;
            }
            impl_->links.push_back(link);
        }
    }
    impl_->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), Impl::on_record, impl_.get(), nullptr);
    if (!impl_->rb) throw FatalError("failed to create ring buffer: " + errstr(errno));
}

Tracer::~Tracer() = default;

size_t Tracer::attached_programs() const { return impl_->links.size(); }

std::vector<Event> Tracer::snapshot() {
    std::vector<Event> out = sockets_now();
    impl_->untracked_baseline = 0;
    impl_->untracked_baseline = counters().sock_untracked;
    // A full socket's inode (a timewait socket has none) names the process
    // that holds it in /proc.
    auto inode_of = [](const Event& rec) {
        uint64_t inode = 0;
        decode_typed(rec, nullptr, [&](const TypedEvent& t) {
            if (const auto* ex = std::get_if<Existing>(&t.what)) inode = ex->inode;
        });
        return inode;
    };
    bool need_owners = false;
    for (const auto& ev : out) need_owners |= inode_of(ev) != 0;
    if (need_owners) {
        auto owners = sys::socket_owners();
        size_t n = out.size();
        for (size_t i = 0; i < n; ++i) {
            const Event& ev = out[i];
            const uint64_t inode = inode_of(ev);
            if (!inode) continue;
            auto it = owners.find(inode);
            if (it == owners.end()) continue;
            Event owner = ev;
            owner.kind = EventKind::Owner;
            owner.task = it->second;
            owner.task_tid = 0;
            owner.flags = 0;
            out.push_back(owner);
        }
    }
    return out;
}

std::vector<Event> Tracer::sockets_now() {
    std::vector<Event> out;
    std::map<uint32_t, std::string> namespaces = sys::list_netns();
    bpf_link* link = bpf_program__attach_iter(impl_->skel->progs.tl_iter_tcp, nullptr);
    if (!link) return out;
    // setns() needs CAP_SYS_ADMIN even into the caller's own namespace
    // (net/core/net_namespace.c: netns_install): walk that one in place, so a
    // tracer granted only CAP_BPF and CAP_PERFMON still sees its own.
    const uint32_t own_netns = sys::netns_inode_of("/proc/self/ns/net");
    size_t not_joined = 0;
    for (const auto& [ino, path] : namespaces) {
        if (impl_->filter.netns && ino != impl_->filter.netns) continue;
        // bpf_iter_tcp walks the namespace of the task that creates the
        // iterator fd: create it from a thread that joined the namespace.
        std::vector<tl_event> raw;
        bool joined = sys::run_in_netns(ino == own_netns ? std::string() : path, [&] {
            int it = bpf_iter_create(bpf_link__fd(link));
            if (it < 0) return;
            tl_event buf[64];
            ssize_t n;
            while ((n = read(it, buf, sizeof(buf))) > 0) raw.insert(raw.end(), buf, buf + n / sizeof(tl_event));
            close(it);
        });
        // A namespace whose last process exited meanwhile is not a failure.
        not_joined += !joined && access(path.c_str(), F_OK) == 0;
        for (const auto& r : raw)
            if (auto ev = decode(r)) out.push_back(*ev);
    }
    bpf_link__destroy(link);
    if (not_joined && !impl_->warned_not_joined++)
        std::fprintf(stderr,
                     "tcplinger: warning: failed to join %zu network namespaces (setns needs CAP_SYS_ADMIN): "
                     "sockets there from before the start are not seen; grant CAP_SYS_ADMIN to see them\n",
                     not_joined);
    return out;
}

int Tracer::poll(int timeout_ms, const Callback& cb) {
    impl_->cb = &cb;
    int n = ring_buffer__poll(impl_->rb, timeout_ms);
    if (n < 0 && n != -EINTR) return -1;
    // Records are submitted without a wakeup (batched); collect them here.
    int m = ring_buffer__consume(impl_->rb);
    impl_->cb = nullptr;
    return (n > 0 ? n : 0) + (m > 0 ? m : 0);
}

void Tracer::stop(const Callback& cb) {
    // Backups first: without its primary a backup would take every hit.
    for (auto it = impl_->links.rbegin(); it != impl_->links.rend(); ++it) bpf_link__destroy(*it);
    impl_->links.clear();
    impl_->cb = &cb;
    while (ring_buffer__consume(impl_->rb) > 0) {
    }
    impl_->cb = nullptr;
}

std::vector<Event> Tracer::probe_timewait(const std::vector<std::pair<uint64_t, uint64_t>>& sockets) {
    std::vector<Event> out;
    out.reserve(sockets.size());
    auto* bss = impl_->skel->bss;
    int prog = bpf_program__fd(impl_->skel->progs.tl_tw_probe);
    for (size_t base = 0; base < sockets.size(); base += TL_TW_PROBE_MAX) {
        size_t n = std::min<size_t>(sockets.size() - base, TL_TW_PROBE_MAX);
        for (size_t i = 0; i < n; ++i) bss->tw_probe_in[i] = {sockets[base + i].first, sockets[base + i].second};
        bss->tw_probe_n = static_cast<uint32_t>(n);
        LIBBPF_OPTS(bpf_test_run_opts, run);
        if (bpf_prog_test_run_opts(prog, &run) != 0) break;
        for (size_t i = 0; i < n; ++i) {
            const tl_tw_probe_res& res = bss->tw_probe_out[i];
            if (!res.valid) continue;
            Event ev;
            ev.kind = EventKind::TwProbe;
            ev.ts_ns = res.ts_ns;
            ev.cookie = sockets[base + i].second;
            ev.new_state = res.substate;
            ev.aux0 = res.expires;
            ev.aux1 = res.jiffies;
            out.push_back(std::move(ev));
        }
    }
    return out;
}

std::vector<SocketHolder> Tracer::socket_holders() {
    std::vector<SocketHolder> out;
    if (!impl_->holders_link) {
        impl_->holders_link = bpf_program__attach_iter(impl_->skel->progs.tl_iter_holders, nullptr);
        if (!impl_->holders_link) return out;
    }
    // task_file walks every task of this pid namespace, whatever network
    // namespace it is in: the netns filter runs in the program.
    int it = bpf_iter_create(bpf_link__fd(impl_->holders_link));
    if (it < 0) return out;
    tl_holder buf[64];
    ssize_t n;
    while ((n = read(it, buf, sizeof(buf))) > 0) {
        for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(tl_holder); ++i) {
            const tl_holder& h = buf[i];
            SocketHolder sh;
            sh.cookie = h.cookie;
            sh.process = Process{h.pid, std::string(h.comm, strnlen(h.comm, sizeof(h.comm))), h.cgroup};
            sh.fd = static_cast<int32_t>(h.fd);
            out.push_back(std::move(sh));
        }
    }
    close(it);
    return out;
}

std::optional<Event> Tracer::clock_sample() {
    auto* bss = impl_->skel->bss;
    int prog = bpf_program__fd(impl_->skel->progs.tl_tw_probe);
    bss->tw_probe_n = 0;
    auto run = [&] {
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        return bpf_prog_test_run_opts(prog, &opts) == 0;
    };
    if (!run()) return std::nullopt;
    const uint32_t hz = bss->tw_clock_hz;
    const uint64_t tick = hz ? 1'000'000'000ull / hz : 10'000'000ull;
    // The jiffy began between the last run that saw the old value and the
    // first that saw the new one: the closest such pair within ten jiffies
    // (a preemption between two runs makes a pair useless), done as soon
    // as one is within 20 us.
    constexpr uint64_t kCloseNs = 20'000;
    const uint64_t give_up = bss->tw_clock_ns + 10 * tick;
    uint64_t prev_j = bss->tw_clock_jiffies, prev_ns = bss->tw_clock_ns;
    std::optional<Event> best;
    uint64_t best_gap = UINT64_MAX;
    while (run()) {
        const uint64_t j = bss->tw_clock_jiffies, ns = bss->tw_clock_ns;
        if (j != prev_j && ns - prev_ns < best_gap) {
            best_gap = ns - prev_ns;
            best = Event{};
            best->kind = EventKind::TwProbe;
            best->ts_ns = ns;
            best->aux1 = j;
            best->hz = hz;
            if (best_gap <= kCloseNs) break;
        }
        if (ns > give_up) break;
        prev_j = j;
        prev_ns = ns;
    }
    return best;
}

DropCounters Tracer::counters() const {
    DropCounters out;
    int ncpus = libbpf_num_possible_cpus();
    std::vector<tl_counters> per_cpu(ncpus > 0 ? ncpus : 1);
    uint32_t zero = 0;
    if (bpf_map__lookup_elem(impl_->skel->maps.counters, &zero, sizeof(zero), per_cpu.data(),
                             per_cpu.size() * sizeof(tl_counters), 0) == 0) {
        for (const auto& c : per_cpu) {
            out.events += c.events;
            out.ringbuf_drops += c.ringbuf_drops;
            out.sock_untracked += c.sock_untracked;
            out.sock_map_full += c.sock_map_full;
            out.nested_caught += c.nested_caught;
            out.no_cookie += c.no_cookie;
        }
    }
    out.sock_untracked -= std::min(out.sock_untracked, impl_->untracked_baseline);
    uint64_t primary_misses = 0;
    for (const auto& pair : impl_->pairs) {
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(bpf_program__fd(pair.primary), &info, &len) == 0)
            primary_misses += info.recursion_misses;
    }
    out.recursion_skipped = primary_misses;
    out.recursion_lost = out.recursion_missed();
    return out;
}

std::map<std::string, uint64_t> Tracer::run_time_ns() const {
    std::map<std::string, uint64_t> out;
    for (const auto& pair : impl_->pairs)
        for (bpf_program* prog : {pair.primary, pair.backup}) {
            if (!prog) continue;
            bpf_prog_info info{};
            uint32_t len = sizeof(info);
            // run_time_ns stays 0 unless kernel.bpf_stats_enabled=1
            // (kernel/bpf/syscall.c: bpf_prog_get_info_by_fd reads prog->stats).
            if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0 && info.run_time_ns)
                out[bpf_program__name(prog)] = info.run_time_ns;
        }
    return out;
}

}  // namespace tcplinger
