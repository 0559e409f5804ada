// tl_fmtbench: userspace cost per event of `trace` output and of the
// recorder's encoding, without a kernel. Synthetic transitions go through
// TraceRenderer (JSON, text, text -T, CSV) into a discarding stream; synthetic
// events go through EventsEncoder and the frame encoder; a synthetic stats
// report (2,000 groups, every one shown) goes through the stats/report text
// and JSON renderers. Prints ns/event and
// a hash of the bytes produced, so two builds can be checked for identical
// output as well as compared for speed. Never asserts a timing.
//
//   tl_fmtbench [N]     (default 1000000)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "record/codec.hpp"
#include "record/format.hpp"
#include "render/stats_format.hpp"
#include "render/trace_format.hpp"

using namespace tcplinger;

namespace {

// Buffered like stdout, but the bytes go nowhere.
class NullBuf : public std::streambuf {
public:
    NullBuf() { setp(buf_, buf_ + sizeof(buf_)); }

protected:
    int_type overflow(int_type ch) override {
        setp(buf_, buf_ + sizeof(buf_));
        if (!traits_type::eq_int_type(ch, traits_type::eof())) sputc(traits_type::to_char_type(ch));
        return traits_type::not_eof(ch);
    }

private:
    char buf_[1 << 16];
};

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ULL) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

double ns_since(std::chrono::steady_clock::time_point t0, size_t n) {
    auto d = std::chrono::steady_clock::now() - t0;
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
           static_cast<double>(n);
}

std::vector<Transition> make_transitions(size_t n) {
    std::mt19937_64 rng(42);
    const Process procs[] = {{1201, "curl", 0}, {1202, "python3", 0}, {900, "nginx", 0}, {77, "we\"ird\\\x01", 0}};
    const uint8_t states[][2] = {{kClose, kSynSent},         {kSynSent, kEstablished}, {kEstablished, kFinWait1},
                                 {kFinWait1, kFinWait2},     {kFinWait2, kTimeWait},   {kTimeWait, kClose},
                                 {kEstablished, kCloseWait}, {kCloseWait, kLastAck},   {kLastAck, kClose}};
    std::vector<Transition> out(n);
    uint64_t ts = 1'000'000'000'000ULL;
    for (size_t i = 0; i < n; ++i) {
        Transition& t = out[i];
        ts += rng() % 20'000;  // ~50k transitions a second
        t.ts_ns = ts;
        t.cookie = 10'000 + i / 4;
        t.netns = 4026531840u;
        bool v6 = i % 5 == 4;
        t.local.family = t.remote.family = v6 ? 6 : 4;
        if (v6) {
            t.local.addr = {0x20, 0x01, 0x0d, 0xb8};
            t.local.addr[15] = static_cast<uint8_t>(i);
            t.remote.addr = {};
            t.remote.addr[15] = 1;
        } else {
            t.local.addr = {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
            t.remote.addr = {192, 168, 1, 2};
        }
        t.local.port = static_cast<uint16_t>(30000 + i % 30000);
        t.remote.port = 443;
        const auto& s = states[i % 9];
        t.old_state = s[0];
        t.new_state = s[1];
        if (i % 7) t.prev_ns = rng() % (i % 3 ? 100'000'000ULL : 120'000'000'000ULL);
        t.prev_at_least = i % 11 == 0;
        if (i % 3) t.actor = procs[i % 4];
        t.owner = procs[(i + 1) % 4];
        t.tid = i % 2 ? t.actor.pid + 1 : 0;
        t.in_task = i % 2;
        t.timewait = s[0] == kTimeWait;
        if (t.timewait) t.reason = static_cast<EndReason>(1 + i % 5);
    }
    return out;
}

std::vector<Event> make_events(size_t n) {
    std::mt19937_64 rng(7);
    const Process procs[] = {{1201, "curl", 4001}, {1202, "python3", 4002}, {900, "nginx", 5000}, {0, "swapper/1", 1}};
    std::vector<Event> out(n);
    uint64_t ts = 100'000'000'000ULL;
    for (size_t i = 0; i < n; ++i) {
        Event& e = out[i];
        ts += rng() % 20'000;
        e.kind = i % 10 == 9 ? EventKind::TwStart : EventKind::State;
        e.ts_ns = ts;
        e.cookie = 10'000 + (i / 5) * 2 + i % 2;
        e.netns = 4026532000u;
        bool v6 = i % 5 == 4;
        e.local.family = e.remote.family = v6 ? 6 : 4;
        if (v6) {
            e.local.addr[15] = 1;
            e.remote.addr[15] = 1;
        } else {
            e.local.addr = {127, 0, 0, static_cast<uint8_t>(1 + i % 4)};
            e.remote.addr = {127, 0, 0, 1};
        }
        e.local.port = static_cast<uint16_t>(30000 + (i / 5) % 20000);
        e.remote.port = 80;
        e.old_state = static_cast<uint8_t>(1 + i % 11);
        e.new_state = static_cast<uint8_t>(1 + (i + 3) % 11);
        e.hz = 250;
        const Process& p = procs[i % 4];
        e.task = p;
        e.task_tid = p.pid + (i % 3 == 0);
        if (p.pid) e.flags = flag::kTaskCtx;
        if (i % 2) {
            e.flags |= flag::kOwnerKnown;
            e.owner = procs[2];
        }
        if (e.kind == EventKind::TwStart) {
            e.aux1 = 4'294'000'000ULL + ts / 4'000'000;
            e.aux0 = e.aux1 + 15'000;
        } else {
            e.aux0 = rng() % 1'000'000'000;
        }
    }
    return out;
}

struct RenderResult {
    double ns_per_line;
    uint64_t hash;
};

RenderResult bench_render(const std::vector<Transition>& ts, TraceStyle style) {
    WallClock clock;
    clock.offset_ns = 1'795'000'000'000'000'000LL;
    NullBuf sink;
    std::ostream out(&sink);
    TraceRenderer warm(out, style, clock);
    for (size_t i = 0; i < ts.size() / 10; ++i) warm.line(ts[i]);
    TraceRenderer r(out, style, clock);
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& t : ts) r.line(t);
    double ns = ns_since(t0, ts.size());
    // The bytes themselves, on a prefix, for comparing builds.
    std::ostringstream text;
    TraceRenderer check(text, style, clock);
    for (size_t i = 0; i < std::min<size_t>(ts.size(), 200'000); ++i) check.line(ts[i]);
    return {ns, fnv1a(text.str())};
}

struct EncodeResult {
    double ns_per_event;
    uint64_t bytes;
    uint64_t hash;
};

// As the recorder does it: events into the encoder, a frame every 1 MiB of
// raw payload (the default frame limit), payload and frame storage reused.
EncodeResult bench_encode(const std::vector<Event>& evs, int zstd_level) {
    constexpr size_t kFrameLimit = 1u << 20;
    rec::EventsEncoder enc;
    rec::FrameEncoder framer;
    std::string payload;
    uint64_t bytes = 0, hash = fnv1a("");
    uint32_t seq = 0;
    auto frame = [&](uint64_t now) {
        enc.finish(rec::FlushStatus{now, {}}, payload);
        std::string_view framed = framer.encode(rec::FrameType::Events, seq++, payload, zstd_level);
        bytes += framed.size();
        hash = fnv1a(framed, hash);
    };
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& ev : evs) {
        enc.event(ev);
        if (enc.bytes() >= kFrameLimit) frame(ev.ts_ns);
    }
    if (!enc.empty()) frame(evs.back().ts_ns);
    // The hash is part of the timed loop but costs the same in every build.
    return {ns_since(t0, evs.size()), bytes, hash};
}

// A report of `groups` groups, each with figures in every lingering state,
// completed stays and a held CLOSE-WAIT, all of them shown (--top).
StatsReport make_report(size_t groups) {
    std::mt19937_64 rng(11);
    StatsReport r;
    r.top = groups;
    r.duration_ns = 60'000'000'000ULL;
    for (size_t i = 0; i < groups; ++i) {
        GroupFigures g;
        g.key.pid = static_cast<uint32_t>(1000 + i);
        g.key.comm = i % 7 ? "worker" : "we\"ird\\\x01";
        for (uint8_t s : kLingeringStates) {
            StateFigures& f = g.states[s];
            f.entered = rng() % 1000;
            f.current = rng() % 10;
            f.oldest_ns = rng() % 100'000'000'000ULL;
            f.oldest_at_least = i % 5 == 0;
            for (int k = 0; k < 8; ++k) f.residency.add(rng() % 120'000'000'000ULL);
            f.end_reasons[EndReason::Expired] = rng() % 100;
        }
        g.aborted = i % 3;
        HeldSocket h;
        h.holder = Process{g.key.pid, "worker", 0};
        h.fd = 5;
        h.local.family = h.remote.family = 4;
        h.local.addr = {127, 0, 0, 1};
        h.remote.addr = {10, 0, 0, static_cast<uint8_t>(i)};
        h.age_ns = rng() % 10'000'000'000ULL;
        g.holders.push_back(h);
        r.groups.push_back(std::move(g));
    }
    return r;
}

// ns per group row of one whole report (table or JSON groups, totals,
// histograms, loss lines), and a hash of its bytes.
RenderResult bench_stats(const StatsReport& r, bool json, size_t reps) {
    NullBuf sink;
    std::ostream out(&sink);
    auto render = [&](std::ostream& o) {
        if (json)
            render_stats_json(o, r);
        else
            render_stats_text(o, r);
    };
    render(out);  // warm
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < reps; ++i) render(out);
    double ns = ns_since(t0, reps * r.groups.size());
    std::ostringstream text;
    render(text);
    return {ns, fnv1a(text.str())};
}

}  // namespace

int main(int argc, char** argv) {
    size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    if (n == 0) n = 1;
    std::vector<Transition> ts = make_transitions(n);
    struct {
        const char* name;
        TraceStyle style;
    } renders[] = {{"trace -j (JSON line)", {true, false}},
                   {"trace (text line)", {false, false}},
                   {"trace -T (text line)", {false, true}},
                   {"export --format csv (row)", {false, false, true}}};
    for (const auto& r : renders) {
        RenderResult res = bench_render(ts, r.style);
        std::printf("%-28s %8.1f ns/event  hash=%016llx\n", r.name, res.ns_per_line,
                    static_cast<unsigned long long>(res.hash));
    }
    StatsReport report = make_report(2000);
    for (bool json : {false, true}) {
        RenderResult res = bench_stats(report, json, std::max<size_t>(1, n / 20'000));
        std::printf("%-28s %8.1f ns/group  hash=%016llx\n", json ? "stats -j (report)" : "stats (report)",
                    res.ns_per_line, static_cast<unsigned long long>(res.hash));
    }
    std::vector<Event> evs = make_events(n);
    for (int level : {0, 3}) {
        EncodeResult res = bench_encode(evs, level);
        std::printf("record encode zstd=%-9d %8.1f ns/event  %6.2f bytes/event  hash=%016llx\n", level,
                    res.ns_per_event, static_cast<double>(res.bytes) / static_cast<double>(n),
                    static_cast<unsigned long long>(res.hash));
    }
    return 0;
}
