#include "stats/socket_table.hpp"

#include <algorithm>

namespace tcplinger {

using headroom::destination_of;

headroom::SocketSample sample_of(const Subject& who, const Existing& ex, uint32_t hz) {
    headroom::SocketSample s;
    s.netns = who.netns();
    s.cookie = who.cookie();
    s.local = who.local();
    s.remote = who.remote();
    s.state = ex.state;
    if (ex.state == kTimeWait) {
        s.tw_substate = ex.substate;
        if (ex.substate == kTimeWait && hz && ex.expires >= ex.jiffies) {
            uint64_t left_ms = (ex.expires - ex.jiffies) * 1000 / hz;
            uint64_t len_ms = Engine::kTimeWaitLenSec * 1000;
            s.tw_age_ms = left_ms < len_ms ? len_ms - left_ms : 0;
        }
    }
    return s;
}

headroom::SocketSample sample_of(const Connection& c, uint64_t now_ns) {
    headroom::SocketSample s;
    s.netns = c.netns;
    s.local = c.local;
    s.remote = c.remote;
    s.state = c.timewait ? static_cast<uint8_t>(kTimeWait) : c.state;
    if (c.timewait) {
        s.tw_substate = c.state;
        if (c.state == kTimeWait && c.entered_known && now_ns >= c.entered_ns)
            s.tw_age_ms = (now_ns - c.entered_ns) / 1'000'000;
    }
    return s;
}

void SocketTable::begin(uint64_t now_ns) {
    pending_.clear();
    pending_ns_ = now_ns;
}

void SocketTable::add(const Event& rec) {
    SessionFacts facts;
    decode_typed(rec, &facts, [&](const TypedEvent& t) {
        if (const auto* ex = std::get_if<Existing>(&t.what)) add(sample_of(t.who, *ex, facts.hz));
    });
}

void SocketTable::commit() {
    previous_ = std::move(current_);
    previous_ns_ = now_ns_;
    had_previous_ = committed_;
    current_ = std::move(pending_);
    pending_.clear();
    now_ns_ = pending_ns_;
    committed_ = true;
    last_load_ = std::move(load_);
    load_.clear();
    // A timewait socket counted once stays in the set while it lives (a
    // re-armed timer can start again); those gone from the pass are dropped.
    std::unordered_set<uint64_t> alive;
    for (const auto& s : current_) {
        if (s.state == kListen) listening_.insert({s.netns, s.local.port});
        if (s.state == kTimeWait && s.cookie && tw_cookies_.count(s.cookie)) alive.insert(s.cookie);
    }
    tw_cookies_ = std::move(alive);
}

void SocketTable::refresh(const std::vector<Event>& snapshot, uint64_t now_ns) {
    begin(now_ns);
    pending_.reserve(snapshot.size());
    for (const Event& ev : snapshot) add(ev);
    commit();
}

void SocketTable::event(const Seen& ev) {
    switch (ev.what) {
        case Seen::What::Listen:
            listening_.insert({ev.netns, ev.local.port});
            break;
        case Seen::What::Connect:
            // lport is still 0 here (connect() picks it after this
            // transition), but saddr is set (tcp_v4_connect: route, then
            // TCP_SYN_SENT).
            saw_connects_ = true;
            ++load_[destination_of(ev.netns, ev.local, ev.remote)].connects;
            break;
        case Seen::What::TimewaitBorn:
            if (ev.cookie && tw_cookies_.insert(ev.cookie).second && !listening_.count({ev.netns, ev.local.port}))
                ++load_[destination_of(ev.netns, ev.local, ev.remote)].time_wait;
            break;
    }
}

bool busier(const DestinationHeadroom& a, const DestinationHeadroom& b) {
    if (a.connects_per_s != b.connects_per_s) return a.connects_per_s > b.connects_per_s;
    if (a.time_wait_per_s != b.time_wait_per_s) return a.time_wait_per_s > b.time_wait_per_s;
    if (a.headroom.headroom != b.headroom.headroom) return a.headroom.headroom < b.headroom.headroom;
    return a.headroom.dest < b.headroom.dest;
}

std::vector<uint32_t> SocketTable::namespaces() const {
    std::set<uint32_t> out;
    for (const auto& s : current_) out.insert(s.netns);
    return {out.begin(), out.end()};
}

namespace {
std::vector<headroom::SocketSample> of_netns(const std::vector<headroom::SocketSample>& all, uint32_t netns) {
    std::vector<headroom::SocketSample> out;
    out.reserve(all.size());
    for (const auto& s : all)
        if (s.netns == netns) out.push_back(s);
    return out;
}
}  // namespace

std::vector<headroom::SocketSample> SocketTable::sockets(uint32_t netns) const { return of_netns(current_, netns); }
std::vector<headroom::SocketSample> SocketTable::previous(uint32_t netns) const { return of_netns(previous_, netns); }

std::vector<DestinationHeadroom> SocketTable::busiest(const headroom::NetnsPorts& ports, uint32_t netns,
                                                      size_t n) const {
    std::vector<headroom::SocketSample> now = sockets(netns), before = previous(netns);
    std::map<headroom::Destination, DestinationHeadroom> by_dest;
    for (const auto& h : headroom::compute(ports, now, netns)) by_dest[h.dest].headroom = h;
    for (const auto& [d, l] : last_load_)
        if (d.netns == netns && !by_dest.count(d)) by_dest[d].headroom = headroom::compute_one(ports, now, d);
    const double dt = had_previous_ && now_ns_ > previous_ns_ ? (now_ns_ - previous_ns_) / 1e9 : 0;
    // Without SYN-SENT records (lean capture), new connections are the
    // sockets of this pass whose cookie the pass before did not have.
    std::map<headroom::Destination, uint64_t> new_sockets;
    if (dt > 0 && !saw_connects_) {
        std::unordered_set<uint64_t> seen;
        for (const auto& s : before) seen.insert(s.cookie);
        for (const auto& s : now)
            if (s.cookie && s.state != kListen && !seen.count(s.cookie) && !listening_.count({netns, s.local.port}))
                ++new_sockets[destination_of(s.netns, s.local, s.remote)];
    }
    // The pass before, every destination at once (one walk, not one per
    // destination: under churn the table holds a minute of TIME-WAIT).
    std::map<headroom::Destination, uint32_t> held_before;
    if (dt > 0)
        for (const auto& h : headroom::compute(ports, before, netns)) held_before[h.dest] = h.taken;
    std::vector<DestinationHeadroom> out;
    for (auto& [d, dh] : by_dest) {
        if (dt > 0) {
            auto l = last_load_.find(d);
            uint64_t connects = saw_connects_ ? (l != last_load_.end() ? l->second.connects : 0) : new_sockets[d];
            dh.connects_per_s = connects / dt;
            dh.time_wait_per_s = (l != last_load_.end() ? l->second.time_wait : 0) / dt;
            auto b = held_before.find(d);
            dh.growth_per_s = (static_cast<double>(dh.headroom.taken) - (b == held_before.end() ? 0 : b->second)) / dt;
        }
        dh.seconds_left = headroom::seconds_to_exhaustion(dh.headroom, dh.time_wait_per_s, dh.growth_per_s);
        out.push_back(dh);
    }
    std::sort(out.begin(), out.end(), busier);
    if (n && out.size() > n) out.resize(n);
    return out;
}

}  // namespace tcplinger
