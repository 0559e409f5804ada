#include "render/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tcplinger {

namespace {

constexpr std::array<const char*, 5> kStateNames = {"TIME-WAIT", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING"};

void append_double(std::string& out, double v, bool openmetrics_float) {
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    std::string_view s(buf, ec == std::errc() ? end - buf : 0);
    out += s;
    // OpenMetrics' canonical form of an integral bound is "1.0" (le="1.0").
    if (openmetrics_float && s.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

// One exposition being written: families (HELP/TYPE[/UNIT]) and samples.
class Writer {
public:
    explicit Writer(ExpositionFormat f) : om_(f == ExpositionFormat::OpenMetrics) { out_.reserve(1 << 16); }

    // name is the sample name (a counter's ends in _total); OpenMetrics
    // names the family without it.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        std::string_view fam = name;
        if (om_ && type == "counter" && fam.ends_with("_total")) fam.remove_suffix(6);
        out_ += "# HELP ";
        out_ += fam;
        out_ += ' ';
        for (char c : help) {
            if (c == '\\')
                out_ += "\\\\";
            else if (c == '\n')
                out_ += "\\n";
            else if (c == '"' && om_)
                out_ += "\\\"";
            else
                out_ += c;
        }
        out_ += "\n# TYPE ";
        out_ += fam;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
        if (om_ && fam.ends_with("_seconds")) {
            out_ += "# UNIT ";
            out_ += fam;
            out_ += " seconds\n";
        }
    }

    // Labels are appended with label(); end with value().
    void begin(std::string_view name, std::string_view suffix = {}) {
        out_ += name;
        out_ += suffix;
        first_ = true;
    }
    void label(std::string_view key, std::string_view value, bool keep_empty = false) {
        if (value.empty() && !keep_empty) return;
        out_ += first_ ? '{' : ',';
        first_ = false;
        out_ += key;
        out_ += "=\"";
        escape_into(out_, value);
        out_ += '"';
    }
    void group(const GroupLabels& g) {
        label("comm", g.comm, true);
        label("unit", g.unit);
        label("container_id", g.container_id);
        label("namespace", g.k8s_namespace);
        label("pod", g.pod);
        label("container", g.container);
    }
    void le(double bound) {
        out_ += first_ ? '{' : ',';
        first_ = false;
        out_ += "le=\"";
        append_double(out_, bound, om_);
        out_ += '"';
    }
    void value(uint64_t v) {
        close_labels();
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, end);
        out_ += '\n';
    }
    void value(double v) {
        close_labels();
        append_double(out_, v, false);
        out_ += '\n';
    }
    std::string finish() {
        if (om_) out_ += "# EOF\n";
        return std::move(out_);
    }
    static void escape_into(std::string& out, std::string_view v) {
        for (char c : v) {
            if (c == '\\')
                out += "\\\\";
            else if (c == '"')
                out += "\\\"";
            else if (c == '\n')
                out += "\\n";
            else
                out += c;
        }
    }

private:
    void close_labels() {
        if (!first_) out_ += '}';
        out_ += ' ';
    }
    bool om_;
    bool first_ = true;
    std::string out_;
};

bool seen(const StateMetrics& m) { return m.stays || m.sockets || m.count; }

template <typename Fn>
void per_state(Writer& w, const MetricsSnapshot& s, std::string_view name, std::string_view suffix, Fn value) {
    for (const auto& g : s.groups)
        for (size_t i = 0; i < kStateNames.size(); ++i) {
            if (!seen(g.states[i])) continue;
            w.begin(name, suffix);
            w.label("state", kStateNames[i]);
            w.group(g.labels);
            value(g.states[i]);
        }
}

}  // namespace

size_t residency_slot(double seconds) {
    return std::lower_bound(kResidencyBuckets.begin(), kResidencyBuckets.end(), seconds) - kResidencyBuckets.begin();
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    Writer::escape_into(out, v);
    return out;
}

std::string_view content_type(ExpositionFormat f) {
    return f == ExpositionFormat::OpenMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                              : "text/plain; version=0.0.4; charset=utf-8";
}

ExpositionFormat format_for_accept(std::string_view accept) {
    return accept.find("application/openmetrics-text") != std::string_view::npos ? ExpositionFormat::OpenMetrics
                                                                                 : ExpositionFormat::Text;
}

std::string render_metrics(const MetricsSnapshot& s, ExpositionFormat f) {
    Writer w(f);
    w.family("tcplinger_stays_total", "counter", "Stays entered in the state (charged to the closer's group).");
    per_state(w, s, "tcplinger_stays_total", "", [&](const StateMetrics& m) { w.value(m.stays); });
    w.family("tcplinger_sockets", "gauge", "Sockets in the state now.");
    per_state(w, s, "tcplinger_sockets", "", [&](const StateMetrics& m) { w.value(m.sockets); });
    w.family("tcplinger_oldest_socket_age_seconds", "gauge",
             "Age of the oldest socket in the state now (0 when none).");
    per_state(w, s, "tcplinger_oldest_socket_age_seconds", "", [&](const StateMetrics& m) { w.value(m.oldest_s); });

    w.family("tcplinger_residency_seconds", "histogram", "Time spent in the state, per finished stay.");
    for (const auto& g : s.groups)
        for (size_t i = 0; i < kStateNames.size(); ++i) {
            const StateMetrics& m = g.states[i];
            if (!seen(m)) continue;
            uint64_t cumulative = 0;
            for (size_t b = 0; b < kResidencySlots; ++b) {
                cumulative += m.slots[b];
                w.begin("tcplinger_residency_seconds", "_bucket");
                w.label("state", kStateNames[i]);
                w.group(g.labels);
                w.le(b < kResidencyBuckets.size() ? kResidencyBuckets[b] : INFINITY);
                w.value(cumulative);
            }
            w.begin("tcplinger_residency_seconds", "_sum");
            w.label("state", kStateNames[i]);
            w.group(g.labels);
            w.value(m.sum_s);
            w.begin("tcplinger_residency_seconds", "_count");
            w.label("state", kStateNames[i]);
            w.group(g.labels);
            w.value(m.count);
        }

    w.family("tcplinger_timewait_ends_total", "counter", "TIME-WAIT ends by reason.");
    for (const auto& g : s.groups) {
        if (!seen(g.states[0])) continue;
        for (size_t r = 0; r < kTimeWaitEndNames.size(); ++r) {
            w.begin("tcplinger_timewait_ends_total");
            w.label("reason", kTimeWaitEndNames[r]);
            w.group(g.labels);
            w.value(g.tw_ends[r]);
        }
    }
    w.family("tcplinger_aborted_closes_total", "counter", "Connections ended by RST or abort instead of a close.");
    for (const auto& g : s.groups) {
        w.begin("tcplinger_aborted_closes_total");
        w.group(g.labels);
        w.value(g.aborted);
    }
    w.family("tcplinger_timewait_overflows_total", "counter",
             "Connections closed with no TIME-WAIT (tcp_max_tw_buckets full, TCPTimeWaitOverflow).");
    for (const auto& [netns, n] : s.tw_overflow) {
        w.begin("tcplinger_timewait_overflows_total");
        w.label("netns", std::to_string(netns));
        w.value(n);
    }
    w.family("tcplinger_port_headroom", "gauge",
             "Ephemeral ports connect() can still get toward the destination (busiest destinations).");
    for (const auto& h : s.headroom) {
        w.begin("tcplinger_port_headroom");
        w.label("netns", std::to_string(h.netns));
        w.label("saddr", h.saddr, true);
        w.label("raddr", h.raddr, true);
        w.label("rport", std::to_string(h.rport));
        w.value(uint64_t{h.headroom});
    }
    w.family("tcplinger_port_range_usable", "gauge", "ip_local_port_range minus reserved and bound ports.");
    for (const auto& [netns, n] : s.port_range_usable) {
        w.begin("tcplinger_port_range_usable");
        w.label("netns", std::to_string(netns));
        w.value(uint64_t{n});
    }
    w.family("tcplinger_events_total", "counter", "Records the kernel produced.");
    w.begin("tcplinger_events_total");
    w.value(s.events);
    w.family("tcplinger_events_lost_total", "counter", "Records lost, by reason.");
    w.begin("tcplinger_events_lost_total");
    w.label("reason", "ringbuf");
    w.value(s.lost_ringbuf);
    w.begin("tcplinger_events_lost_total");
    w.label("reason", "recursion");
    w.value(s.lost_recursion);
    w.family("tcplinger_sockets_evicted_total", "counter", "Sockets untracked (BPF map LRU and engine table bound).");
    w.begin("tcplinger_sockets_evicted_total");
    w.value(s.evicted);
    w.family("tcplinger_series_dropped_total", "counter", "Label sets folded into comm=\"~other\" by --max-series.");
    w.begin("tcplinger_series_dropped_total");
    w.value(s.series_dropped);
    w.family("tcplinger_series", "gauge", "Label sets exported now.");
    w.begin("tcplinger_series");
    w.value(uint64_t{series_count(s)});
    if (!s.bpf_run_seconds.empty()) {
        w.family("tcplinger_bpf_run_seconds_total", "counter", "BPF run time (kernel.bpf_stats_enabled=1).");
        for (const auto& [prog, secs] : s.bpf_run_seconds) {
            w.begin("tcplinger_bpf_run_seconds_total");
            w.label("program", prog, true);
            w.value(secs);
        }
    }
    w.family("tcplinger_build_info", "gauge", "tcplinger's version; always 1.");
    w.begin("tcplinger_build_info");
    w.label("version", s.version, true);
    w.label("revision", s.revision, true);
    w.value(uint64_t{1});
    return w.finish();
}

}  // namespace tcplinger
