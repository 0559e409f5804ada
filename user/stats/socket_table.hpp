// The live socket table the headroom model needs: the sockets that exist
// per network namespace, from periodic iter/tcp passes (Tracer::snapshot()),
// and per-destination rates between two passes. Shared by doctor's
// --observe, `top` and the exporter: each pass replaces the table (the
// previous one is kept for the growth of held ports), and the events seen
// in between give the TIME-WAIT and connect() rates.
//
// Why passes and not the start snapshot plus events: lean capture (stats,
// top, exporter) ships no connection set-up records, so events cannot tell
// which new connections are still open and holding a port, and a lost
// record (ring buffer, recursion_misses) would leave the table wrong until
// restart; a pass is exact at its instant and costs a bounded time per
// socket (measured in README, "The headroom model").
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <unordered_set>
#include <vector>

#include "core/event.hpp"
#include "core/typed_event.hpp"
#include "lifecycle/engine.hpp"
#include "stats/headroom.hpp"

namespace tcplinger {

// A socket of an iter/tcp snapshot as the headroom model sees it; a
// timewait socket's age comes from its timer: it was armed for
// TCP_TIMEWAIT_LEN when TIME-WAIT began (tw_entry_stamp).
headroom::SocketSample sample_of(const Subject& who, const Existing& existing, uint32_t hz);
// A connection the engine follows, aged at now_ns (a recording with no
// closing snapshot: every transition was recorded).
headroom::SocketSample sample_of(const Connection& c, uint64_t now_ns);

// One destination's headroom and load over the last interval.
struct DestinationHeadroom {
    headroom::Headroom headroom;
    double connects_per_s = 0;               // new sockets toward it (CLOSE -> SYN-SENT, or new cookies)
    double time_wait_per_s = 0;              // timewait sockets born toward it
    double growth_per_s = 0;                 // change of held (not reusable) ports
    double seconds_left = headroom::kNever;  // headroom::seconds_to_exhaustion
};

// SocketTable::busiest's order: more connects/s, then more TIME-WAIT/s,
// then less headroom, then by destination.
bool busier(const DestinationHeadroom& a, const DestinationHeadroom& b);

class SocketTable {
public:
    // One pass: begin, add every socket, commit. A pass replaces the
    // table; the one before it stays as previous().
    void begin(uint64_t now_ns);
    void add(const headroom::SocketSample& s) { pending_.push_back(s); }
    void add(const Event& rec);  // an Existing record only; others are ignored
    void commit();
    // begin + add + commit from a Tracer::snapshot() result.
    void refresh(const std::vector<Event>& snapshot, uint64_t now_ns);

    // Events between passes, for the rates: CLOSE -> SYN-SENT (full
    // capture) and timewait births (TwBirth or TwStart, once per cookie).
    // A server that closes first holds TIME-WAIT on its listening port:
    // that is no destination's connect() load, and is not counted.
    void event(const Event& rec) {
        visit_record(rec, nullptr, [&](const Subject& who, const auto& what) {
            if (auto seen = Seen::of(who, what)) event(*seen);
        });
    }
    // What event() reads of an event: the host poller queues these from the
    // capture loop, not whole Events (two Process structs with strings).
    struct Seen {
        enum class What : uint8_t { Listen, Connect, TimewaitBorn } what = What::Listen;
        uint32_t netns = 0;
        Endpoint local, remote;
        uint64_t cookie = 0;
        // A listen, a connect (CLOSE -> SYN-SENT), a timewait timer start
        // (a birth or a re-arm: counted once per cookie); nothing else.
        template <class K>
        static std::optional<Seen> of(const Subject& who, const K& what) {
            What kind;
            if constexpr (std::is_same_v<K, StateChange>) {
                if (what.to == kListen)
                    kind = What::Listen;
                else if (what.from == kClose && what.to == kSynSent)
                    kind = What::Connect;
                else
                    return std::nullopt;
            } else if constexpr (std::is_same_v<K, TimerOp>) {
                if (what.op != TimerOp::Op::Start) return std::nullopt;
                kind = What::TimewaitBorn;
            } else {
                return std::nullopt;
            }
            return Seen{kind, who.netns(), who.local(), who.remote(), who.cookie()};
        }
        static std::optional<Seen> of(const TypedEvent& t) {
            return std::visit([&](const auto& what) { return of(t.who, what); }, t.what);
        }
    };
    void event(const Seen& ev);

    bool empty() const { return !committed_; }
    uint64_t taken_ns() const { return now_ns_; }
    std::vector<uint32_t> namespaces() const;
    // The sockets of the last pass (previous(): the pass before) in netns.
    std::vector<headroom::SocketSample> sockets(uint32_t netns) const;
    std::vector<headroom::SocketSample> previous(uint32_t netns) const;

    // Headroom and rates of every destination of netns that has sockets or
    // load, the busiest first (connects/s, then TIME-WAIT/s, then the least
    // headroom), at most n (0: all). Rates are over the interval between
    // the last two passes; with one pass they are 0.
    std::vector<DestinationHeadroom> busiest(const headroom::NetnsPorts& ports, uint32_t netns, size_t n = 0) const;

private:
    struct Load {
        uint64_t connects = 0, time_wait = 0;
    };
    std::vector<headroom::SocketSample> pending_, current_, previous_;
    uint64_t pending_ns_ = 0, now_ns_ = 0, previous_ns_ = 0;
    bool committed_ = false, had_previous_ = false;
    bool saw_connects_ = false;  // SYN-SENT records arrive (full capture)
    std::map<headroom::Destination, Load> load_, last_load_;
    std::set<std::pair<uint32_t, uint16_t>> listening_;  // (netns, port), from passes and events
    std::unordered_set<uint64_t> tw_cookies_;            // timewait sockets already counted
};

}  // namespace tcplinger
