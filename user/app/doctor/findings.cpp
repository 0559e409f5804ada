#include "app/doctor/findings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/doctor/knobs.hpp"

namespace tcplinger::doctor {

std::string_view severity_name(Severity s) {
    switch (s) {
        case Severity::Ok:
            return "ok";
        case Severity::Info:
            return "info";
        case Severity::Warn:
            return "warn";
        case Severity::Problem:
            return "problem";
    }
    return "?";
}

std::string thousands(uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string duration_text(double s) {
    char buf[64];
    if (std::isinf(s)) return "never";
    if (s < 120)
        std::snprintf(buf, sizeof(buf), "%.1f s", s);
    else if (s < 7200)
        std::snprintf(buf, sizeof(buf), "%.1f min", s / 60);
    else
        std::snprintf(buf, sizeof(buf), "%.1f h", s / 3600);
    return buf;
}

namespace {
std::string rate_text(double per_s) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), per_s >= 10 ? "%.0f" : "%.1f", per_s);
    return buf;
}

std::string knob_does(const char* key) {
    const Knob* k = find_knob(key);
    return k ? std::string(k->does) : "";
}

class Checks {
public:
    Checks(const NetnsState& ns, const Observation* obs) : ns_(ns), obs_(obs) {}

    std::vector<Finding> run() {
        settings();
        fin_timeout();
        tw_reuse();
        timestamps();
        tw_buckets();
        rfc1337();
        port_range();
        listeners_in_range();
        headroom_now();
        orphans();
        listen_queues();
        syncookies();
        aborts();
        if (obs_) {
            destinations();
            processes();
            close_wait();
        }
        return std::move(out_);
    }

private:
    std::optional<long long> get(const char* key) const { return int_setting(ns_.settings, key); }
    std::string str(const char* key) const {
        auto it = ns_.settings.find(key);
        return it == ns_.settings.end() ? "" : it->second;
    }
    uint64_t counter(const char* name) const {
        auto it = ns_.tcpext.find(name);
        return it == ns_.tcpext.end() ? 0 : it->second;
    }
    std::optional<int64_t> delta(const char* name) const {
        if (!obs_ || !obs_->tcpext_known) return std::nullopt;
        auto it = obs_->tcpext_delta.find(name);
        return it == obs_->tcpext_delta.end() ? std::optional<int64_t>(0) : it->second;
    }
    Finding& add(Severity s, const char* check, std::string summary, std::string kernel, std::string advice = "") {
        Finding f;
        f.severity = s;
        f.check = check;
        f.netns = ns_.inode;
        f.netns_name = ns_.name;
        f.summary = std::move(summary);
        f.kernel = std::move(kernel);
        f.advice = std::move(advice);
        out_.push_back(std::move(f));
        return out_.back();
    }
    static void ev(Finding& f, const std::string& name, const std::string& value) {
        f.evidence.push_back({name, value});
    }
    void setting_ev(Finding& f, const char* key) const {
        auto it = ns_.settings.find(key);
        ev(f, key, it == ns_.settings.end() ? "(absent)" : it->second);
    }

    // Every knob doctor reads: its value, whether it is this namespace's or
    // the host's, and which this kernel does not have.
    void settings() {
        std::string absent;
        for (const auto& k : knobs())
            if (!ns_.settings.count(std::string(k.key)))
                absent += (absent.empty() ? "" : ", ") + std::string(k.key) +
                          (k.since.empty() ? "" : " (added in " + std::string(k.since) + ")");
        auto& f =
            add(absent.empty() ? Severity::Ok : Severity::Info, "settings",
                absent.empty() ? "all " + std::to_string(knobs().size()) + " knobs read"
                               : (ns_.recorded ? "not stored in the recording: " : "not on this kernel: ") + absent,
                "most TCP knobs are per network namespace (struct netns_ipv4, sysctl_net_ipv4.c: "
                "ipv4_net_table); tcp_max_orphans is one host-wide value (ipv4_table, registered for "
                "init_net only)");
        for (const auto& k : knobs()) {
            std::string key(k.key);
            auto it = ns_.settings.find(key);
            if (it == ns_.settings.end()) continue;
            bool from_host =
                std::find(ns_.global_from_host.begin(), ns_.global_from_host.end(), key) != ns_.global_from_host.end();
            ev(f, key, it->second + (k.per_netns ? "" : from_host ? " (host-wide, the host's)" : " (host-wide)"));
        }
    }

    void fin_timeout() {
        auto v = get("net.ipv4.tcp_fin_timeout");
        if (!v) return;
        std::string measured;
        if (obs_ && obs_->tw_expired)
            measured = "; TIME-WAIT measured " + duration_text(obs_->tw_p50_ns / 1e9) + " (median of " +
                       thousands(obs_->tw_expired) + " that ran their course)";
        else
            measured = "; TIME-WAIT stays 60 s";
        Severity s = *v == 60 ? Severity::Ok : Severity::Info;
        std::string summary = "tcp_fin_timeout=" + std::to_string(*v) + (*v == 60 ? " (default)" : "") +
                              " bounds orphaned FIN-WAIT-2 only" + measured;
        auto& f = add(s, "tcp_fin_timeout", summary, knob_does("net.ipv4.tcp_fin_timeout"),
                      *v == 60 ? ""
                               : "expect no change in TIME-WAIT from this knob; it only ends FIN-WAIT-2 of "
                                 "sockets the application closed when the peer never sends FIN");
        setting_ev(f, "net.ipv4.tcp_fin_timeout");
        if (obs_ && obs_->tw_expired) {
            ev(f, "time_wait_expired", thousands(obs_->tw_expired));
            ev(f, "time_wait_p50_s", duration_text(obs_->tw_p50_ns / 1e9));
            ev(f, "time_wait_max_s", duration_text(obs_->tw_max_ns / 1e9));
        }
    }

    void tw_reuse() {
        auto reuse = get("net.ipv4.tcp_tw_reuse");
        if (!reuse) return;
        auto ts = get("net.ipv4.tcp_timestamps").value_or(1);
        auto delay = get("net.ipv4.tcp_tw_reuse_delay");
        std::string delay_text = delay ? std::to_string(*delay) + " ms" : "1 s (fixed before 6.14)";
        Finding* f = nullptr;
        const std::string does = knob_does("net.ipv4.tcp_tw_reuse");
        if (*reuse == 0) {
            f = &add(Severity::Info, "tcp_tw_reuse",
                     "tcp_tw_reuse=0: connect() never takes over a TIME-WAIT, each one holds its port to that "
                     "destination for 60 s",
                     does,
                     ts ? "if outgoing connections run short of ports, tcp_tw_reuse=1 is safe with timestamps on "
                          "(they are); better, reuse connections (pooling, keep-alive)"
                        : "");
        } else if (ts == 0) {
            f = &add(Severity::Warn, "tcp_tw_reuse",
                     "tcp_tw_reuse=" + std::to_string(*reuse) + " has no effect: tcp_timestamps=0", does,
                     "turn tcp_timestamps back on (1), or drop tcp_tw_reuse from your configuration");
        } else if (*reuse == 2) {
            f = &add(
                Severity::Ok, "tcp_tw_reuse",
                "tcp_tw_reuse=2 (default): connect() reuses TIME-WAITs older than " + delay_text + " on loopback only",
                does);
        } else {
            f = &add(Severity::Ok, "tcp_tw_reuse",
                     "tcp_tw_reuse=1: connect() reuses TIME-WAITs older than " + delay_text +
                         " to every destination (timestamps are on)",
                     does);
        }
        setting_ev(*f, "net.ipv4.tcp_tw_reuse");
        setting_ev(*f, "net.ipv4.tcp_timestamps");
        if (delay)
            setting_ev(*f, "net.ipv4.tcp_tw_reuse_delay");
        else
            ev(*f, "net.ipv4.tcp_tw_reuse_delay", "(not on this kernel: added in 6.14)");
        ev(*f, "TWRecycled", thousands(counter("TWRecycled")));
        if (auto d = delta("TWRecycled")) ev(*f, "TWRecycled_in_window", std::to_string(*d));
    }

    void timestamps() {
        auto ts = get("net.ipv4.tcp_timestamps");
        if (!ts || *ts != 0) return;
        auto& f =
            add(Severity::Warn, "tcp_timestamps", "tcp_timestamps=0: no PAWS and no TIME-WAIT reuse in this namespace",
                knob_does("net.ipv4.tcp_timestamps"), "set tcp_timestamps=1 (the default)");
        setting_ev(f, "net.ipv4.tcp_timestamps");
    }

    void tw_buckets() {
        auto max = get("net.ipv4.tcp_max_tw_buckets");
        if (!max) return;
        uint64_t tw = ns_.sockstat.tw, overflow = counter("TCPTimeWaitOverflow");
        auto d = delta("TCPTimeWaitOverflow");
        const std::string does = knob_does("net.ipv4.tcp_max_tw_buckets");
        Finding* f;
        std::string limit = "tcp_max_tw_buckets=" + thousands(static_cast<uint64_t>(*max));
        if (d && *d > 0) {
            f = &add(Severity::Problem, "tw_overflow",
                     "TCPTimeWaitOverflow rose by " + thousands(*d) + " in " + duration_text(obs_->seconds) + ": " +
                         limit + " is lower than the TIME-WAIT this host makes",
                     does,
                     "raise tcp_max_tw_buckets above the TIME-WAIT count seen (a timewait socket costs about "
                     "200 bytes), and cut the TIME-WAIT made: reuse connections");
        } else if (static_cast<long long>(tw) >= *max) {
            f = &add(Severity::Problem, "tw_overflow",
                     "TIME-WAIT " + thousands(tw) + " has reached " + limit +
                         ": new closes get no TIME-WAIT (TCPTimeWaitOverflow " + thousands(overflow) + ")",
                     does, "raise tcp_max_tw_buckets, and cut the TIME-WAIT made: reuse connections");
        } else if (overflow > 0) {
            f = &add(Severity::Warn, "tw_overflow",
                     "TCPTimeWaitOverflow is " + thousands(overflow) + " since the namespace began: " + limit +
                         " was full at times (TIME-WAIT now " + thousands(tw) + ")",
                     does, "raise tcp_max_tw_buckets above the peak TIME-WAIT count");
        } else if (tw * 4 >= static_cast<uint64_t>(*max) * 3) {
            f = &add(Severity::Warn, "tw_overflow", "TIME-WAIT " + thousands(tw) + " is over 75% of " + limit, does,
                     "raise tcp_max_tw_buckets before it overflows");
        } else {
            f = &add(Severity::Ok, "tw_overflow", "TIME-WAIT " + thousands(tw) + " of " + limit + ", no overflow",
                     does);
        }
        setting_ev(*f, "net.ipv4.tcp_max_tw_buckets");
        ev(*f, "sockstat_tw", thousands(tw));
        ev(*f, "TCPTimeWaitOverflow", thousands(overflow));
        if (d) ev(*f, "TCPTimeWaitOverflow_in_window", std::to_string(*d));
        if (obs_ && obs_->no_timewait) ev(*f, "closes_without_time_wait_seen", thousands(obs_->no_timewait));
        ev(*f, "TW", thousands(counter("TW")));
    }

    void rfc1337() {
        auto v = get("net.ipv4.tcp_rfc1337");
        if (!v) return;
        auto& f = add(Severity::Ok, "tcp_rfc1337",
                      *v ? "tcp_rfc1337=1: RSTs cannot end TIME-WAIT early"
                         : "tcp_rfc1337=0 (default): an RST in TIME-WAIT ends it early",
                      knob_does("net.ipv4.tcp_rfc1337"));
        setting_ev(f, "net.ipv4.tcp_rfc1337");
        ev(f, "TWKilled", thousands(counter("TWKilled")));
    }

    void port_range() {
        std::string text = str("net.ipv4.ip_local_port_range");
        auto r = headroom::parse_port_range(text);
        if (!r) return;
        auto reserved =
            headroom::parse_port_list(str("net.ipv4.ip_local_reserved_ports")).value_or(std::vector<uint16_t>{});
        const std::string does = knob_does("net.ipv4.ip_local_port_range");
        uint32_t size = r->size();
        Finding* f;
        if (r->low < 32768 && reserved.empty()) {
            f = &add(Severity::Warn, "ip_local_port_range",
                     "ip_local_port_range starts at " + std::to_string(r->low) +
                         " with no ip_local_reserved_ports: outgoing connections can take ports services need",
                     does,
                     "list the service ports in the range in net.ipv4.ip_local_reserved_ports (e.g. " +
                         std::to_string(std::max<int>(r->low, 3306)) + "), or start the range at 32768");
        } else if (size < 5000) {
            f = &add(Severity::Warn, "ip_local_port_range",
                     "ip_local_port_range has " + thousands(size) + " ports: at most " + thousands(size) +
                         " connections per destination including TIME-WAIT, about " + rate_text(size / 60.0) +
                         " client-side closes/s to one destination without reuse",
                     does, "widen the range (keep it above the services' ports), or reuse connections");
        } else {
            f = &add(Severity::Ok, "ip_local_port_range",
                     "ip_local_port_range " + text + ": " + thousands(size) + " ports, about " +
                         rate_text(size / 60.0) + " client-side closes/s per destination without reuse",
                     does);
        }
        if ((r->low & 1) == (r->high & 1))
            ev(*f, "note",
               "start and end have the same parity; the kernel prefers them different "
               "(connect() uses even ports first, bind(0) odd ones)");
        setting_ev(*f, "net.ipv4.ip_local_port_range");
        setting_ev(*f, "net.ipv4.ip_local_reserved_ports");
    }

    void listeners_in_range() {
        if (!ns_.sockets_known) return;
        headroom::NetnsPorts p = ports_of(ns_);
        std::vector<uint16_t> inside;
        for (uint16_t port : headroom::bound_ports(ns_.sockets, ns_.inode))
            if (p.range.contains(port) && std::find(p.reserved.begin(), p.reserved.end(), port) == p.reserved.end())
                inside.push_back(port);
        if (inside.empty()) return;
        std::string list;
        for (uint16_t port : inside) list += (list.empty() ? "" : ",") + std::to_string(port);
        auto& f = add(Severity::Warn, "listener_in_range",
                      std::to_string(inside.size()) + " listening port(s) inside ip_local_port_range: " + list,
                      "a port bound by bind()/listen() is skipped by connect() for every destination "
                      "(inet_hashtables.c: __inet_hash_connect, fastreuse >= 0); while the service is down an "
                      "outgoing connection may take the port and its restart fails with EADDRINUSE",
                      "add them to net.ipv4.ip_local_reserved_ports (" + list + ")");
        ev(f, "listening_ports_in_range", list);
        setting_ev(f, "net.ipv4.ip_local_port_range");
        setting_ev(f, "net.ipv4.ip_local_reserved_ports");
    }

    void headroom_now() {
        // Without --observe: the destinations nearest to exhaustion now.
        if (obs_ || !ns_.sockets_known) return;
        auto all = headroom::compute(ports_of(ns_), ns_.sockets, ns_.inode);
        int shown = 0;
        // The tightest destination always, the others while under half.
        for (const auto& h : all) {
            bool low = h.usable == 0 || h.headroom * 2 <= h.usable;
            if ((shown && !low) || shown >= 5) break;
            ++shown;
            Severity s = h.headroom * 10 <= h.usable ? Severity::Problem : low ? Severity::Warn : Severity::Ok;
            auto& f = add(s, "headroom",
                          headroom::format_destination(h.dest) + ": " + thousands(h.headroom) + " of " +
                              thousands(h.usable) + " local ports left; " + headroom::reuse_verdict_text(h.reuse),
                          "connect() needs a local port whose 4-tuple to this destination no socket holds "
                          "(inet_hashtables.c: __inet_hash_connect, __inet_check_established)",
                          low ? "run doctor --observe 10 for the rate and the processes; reuse connections" : "");
            headroom_ev(f, h);
        }
    }

    static void headroom_ev(Finding& f, const headroom::Headroom& h) {
        ev(f, "destination", headroom::format_destination(h.dest));
        ev(f, "range", thousands(h.range));
        ev(f, "reserved", thousands(h.reserved));
        ev(f, "bound", thousands(h.bound));
        ev(f, "held", thousands(h.taken));
        ev(f, "time_wait", thousands(h.time_wait));
        ev(f, "reusable_time_wait", thousands(h.reusable_tw));
        ev(f, "headroom", thousands(h.headroom));
        ev(f, "reuse", headroom::reuse_verdict_text(h.reuse));
    }

    void orphans() {
        auto max = get("net.ipv4.tcp_max_orphans");
        if (!max) return;
        uint64_t n = ns_.sockstat.orphan;
        bool high = n * 2 >= static_cast<uint64_t>(*max);
        auto& f = add(high ? Severity::Warn : Severity::Ok, "tcp_max_orphans",
                      "orphans " + thousands(n) + " of tcp_max_orphans=" + thousands(*max) + " (host-wide)",
                      knob_does("net.ipv4.tcp_max_orphans"),
                      high ? "find who closes with unsent data to slow peers (FIN-WAIT-1/LAST-ACK), or raise "
                             "tcp_max_orphans (each can hold up to its send buffer)"
                           : "");
        setting_ev(f, "net.ipv4.tcp_max_orphans");
        setting_ev(f, "net.ipv4.tcp_orphan_retries");
        ev(f, "sockstat_orphan", thousands(n));
        if (std::find(ns_.global_from_host.begin(), ns_.global_from_host.end(), "net.ipv4.tcp_max_orphans") !=
            ns_.global_from_host.end())
            ev(f, "scope", "global: one value and one count for every namespace");
    }

    void listen_queues() {
        uint64_t overflows = counter("ListenOverflows"), drops = counter("ListenDrops");
        auto d = delta("ListenOverflows");
        bool now = d && *d > 0;
        Severity s = now ? Severity::Problem : overflows ? Severity::Warn : Severity::Ok;
        std::string somax = str("net.core.somaxconn");
        auto& f = add(s, "listen_overflow",
                      now ? "ListenOverflows rose by " + thousands(*d) + " in " + duration_text(obs_->seconds) +
                                ": an accept queue is full"
                      : overflows ? "ListenOverflows " + thousands(overflows) + ", ListenDrops " + thousands(drops) +
                                        " since the namespace began"
                                  : "no accept-queue overflow",
                      knob_does("net.core.somaxconn"),
                      s == Severity::Ok ? ""
                                        : "the application accepts too slowly, or its listen() backlog is small: "
                                          "backlog = min(listen() argument, somaxconn=" +
                                              somax + "); ss -ltn shows Recv-Q against Send-Q per listener");
        ev(f, "ListenOverflows", thousands(overflows));
        ev(f, "ListenDrops", thousands(drops));
        if (d) ev(f, "ListenOverflows_in_window", std::to_string(*d));
        setting_ev(f, "net.core.somaxconn");
        setting_ev(f, "net.ipv4.tcp_max_syn_backlog");
    }

    void syncookies() {
        auto v = get("net.ipv4.tcp_syncookies");
        if (!v || *v != 0) return;
        auto& f = add(Severity::Warn, "tcp_syncookies", "tcp_syncookies=0: a full SYN queue drops new connections",
                      knob_does("net.ipv4.tcp_syncookies"), "set tcp_syncookies=1 (the default)");
        setting_ev(f, "net.ipv4.tcp_syncookies");
    }

    void aborts() {
        uint64_t on_close = counter("TCPAbortOnClose"), on_data = counter("TCPAbortOnData");
        auto dc = delta("TCPAbortOnClose"), dd = delta("TCPAbortOnData");
        int64_t window = (dc ? *dc : 0) + (dd ? *dd : 0);
        Severity s = window > 0 ? Severity::Info : Severity::Ok;
        auto& f =
            add(s, "aborts",
                window > 0 ? thousands(window) + " connections reset by close() in " + duration_text(obs_->seconds) +
                                 " (" + std::to_string(dc.value_or(0)) + " with unread data, " +
                                 std::to_string(dd.value_or(0)) + " receiving data after close)"
                           : "aborts since the namespace began: " + thousands(on_close) +
                                 " close() with unread data, " + thousands(on_data) + " data after close()",
                "close() with unread received data sends RST instead of FIN (tcp.c: __tcp_close, "
                "TCPAbortOnClose); data arriving after close()/shutdown() gets RST (tcp_input.c: "
                "tcp_rcv_state_process, TCPAbortOnData). Either way the connection gets no TIME-WAIT",
                window > 0 ? "resets that end connections on purpose (SO_LINGER 0) are a way to avoid "
                             "TIME-WAIT; unintended ones mean the application closes before reading all"
                           : "");
        ev(f, "TCPAbortOnClose", thousands(on_close));
        ev(f, "TCPAbortOnData", thousands(on_data));
        if (dc) ev(f, "TCPAbortOnClose_in_window", std::to_string(*dc));
        if (dd) ev(f, "TCPAbortOnData_in_window", std::to_string(*dd));
    }

    void destinations() {
        int shown = 0;
        auto ts = get("net.ipv4.tcp_timestamps").value_or(1);
        for (const auto& d : obs_->destinations) {
            if (shown++ >= 5) break;
            const auto& h = d.headroom;
            double rate = d.time_wait_entered / std::max(obs_->seconds, 1e-3);
            double left = headroom::seconds_to_exhaustion(h, rate, d.growth_per_s);
            double level = headroom::held_time_wait_level(h, rate);
            Severity s = Severity::Info;
            if (h.usable && h.headroom * 10 <= h.usable)
                s = Severity::Problem;
            else if (left < 600 || (h.usable && h.headroom * 2 <= h.usable) || level * 2 > h.usable)
                s = Severity::Warn;
            std::string who = d.processes.empty() ? "" : " from " + d.processes.front();
            std::string dest = format_endpoint(Endpoint{h.dest.family, h.dest.daddr, h.dest.dport});
            std::string summary = dest + " takes " + rate_text(rate) + " new TIME-WAIT/s" + who;
            if (d.closes_without_time_wait)
                summary += " (and " + thousands(d.closes_without_time_wait) + " closes got none: tcp_max_tw_buckets)";
            summary += "; headroom " + thousands(h.headroom) + " of " + thousands(h.usable) + " ports";
            if (!std::isinf(left))
                summary += ", exhausted in " + duration_text(left) + " at this rate";
            else if (rate > 0)
                summary += "; at this rate TIME-WAIT levels off at " + thousands(static_cast<uint64_t>(level)) +
                           (h.reuse == headroom::ReuseVerdict::Applies ? " ports held (rate x tcp_tw_reuse_delay)"
                                                                       : " ports (rate x 60 s)");
            summary += "; " + headroom::reuse_verdict_text(h.reuse);
            std::string advice;
            if (s != Severity::Info) {
                advice = "for " + dest + " the fix is connection pooling (keep-alive)";
                if (h.reuse == headroom::ReuseVerdict::NotLoopback || h.reuse == headroom::ReuseVerdict::Off)
                    advice +=
                        std::string(", or tcp_tw_reuse=1") + (ts ? " (timestamps are on)" : " with timestamps on");
                else if (h.reuse == headroom::ReuseVerdict::NoTimestamps)
                    advice += ", or tcp_timestamps=1 so tcp_tw_reuse works";
                advice += "; a wider ip_local_port_range only buys time";
            }
            auto& f = add(s, "destination", summary,
                          "each client-side close leaves a TIME-WAIT holding the local port to this destination "
                          "for 60 s (tcp_minisocks.c: tcp_time_wait); connect() skips held 4-tuples "
                          "(inet_hashtables.c: __inet_hash_connect) and fails with EADDRNOTAVAIL when none is left",
                          advice);
            ev(f, "time_wait_entered", thousands(d.time_wait_entered));
            ev(f, "closes_without_time_wait", thousands(d.closes_without_time_wait));
            ev(f, "time_wait_per_s", rate_text(rate));
            char growth[32];
            std::snprintf(growth, sizeof(growth), "%.1f", d.growth_per_s);
            ev(f, "ports_held_growth_per_s", growth);
            ev(f, "exhaustion", duration_text(left));
            ev(f, "time_wait_level", thousands(static_cast<uint64_t>(level)));
            headroom_ev(f, h);
            if (!ns_.settings.count("net.ipv4.ip_local_port_range"))
                ev(f, "note", "ip_local_port_range not known (not stored in the recording): the default assumed");
            std::string procs;
            for (const auto& p : d.processes) procs += (procs.empty() ? "" : ", ") + p;
            if (!procs.empty()) ev(f, "processes", procs);
        }
    }

    void processes() {
        int shown = 0;
        for (const auto& p : obs_->processes) {
            if (shown++ >= 5 || !p.time_wait_entered) break;
            double rate = p.time_wait_entered / std::max(obs_->seconds, 1e-3);
            std::string who =
                p.process.known() ? p.process.comm + " (pid " + std::to_string(p.process.pid) + ")" : "unknown process";
            auto& f = add(Severity::Info, "process",
                          who + " closed first " + thousands(p.time_wait_entered) + " times in " +
                              duration_text(obs_->seconds) + ": " + rate_text(rate) + " TIME-WAIT/s",
                          "the side that calls close() first gets the TIME-WAIT (tcp_minisocks.c: tcp_time_wait)", "");
            ev(f, "time_wait_entered", thousands(p.time_wait_entered));
            ev(f, "time_wait_per_s", rate_text(rate));
            if (p.process.known()) ev(f, "pid", std::to_string(p.process.pid));
        }
    }

    void close_wait() {
        for (const auto& g : obs_->close_wait) {
            std::string who =
                g.owner.known() ? g.owner.comm + " (pid " + std::to_string(g.owner.pid) + ")" : "an unknown process";
            auto& f = add(Severity::Warn, "close_wait",
                          who + " holds " + thousands(g.sockets) + " CLOSE-WAIT socket(s), the oldest " +
                              (g.oldest_at_least ? "at least " : "") + duration_text(g.oldest_ms / 1e3) +
                              ": it does not close() after the peer closed",
                          "the peer's FIN moves the socket to CLOSE-WAIT (tcp_input.c: tcp_fin); only the "
                          "application's close() or shutdown() ends it, no timer and no sysctl does",
                          "fix the application: close the socket when read() returns 0 (look for a missing close "
                          "on an error path or a leaked connection pool entry)");
            ev(f, "sockets", thousands(g.sockets));
            ev(f, "oldest", (g.oldest_at_least ? ">= " : "") + duration_text(g.oldest_ms / 1e3));
            if (!g.example.empty()) ev(f, "peer", g.example);
        }
    }

    const NetnsState& ns_;
    const Observation* obs_;
    std::vector<Finding> out_;
};
}  // namespace

std::vector<Finding> check_namespace(const NetnsState& ns, const Observation* obs) { return Checks(ns, obs).run(); }

}  // namespace tcplinger::doctor
