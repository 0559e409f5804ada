#include "record/codec.hpp"

#include <algorithm>

#include "record/format.hpp"
#include "record/metadata.hpp"

namespace tcplinger::rec {

namespace {
constexpr uint8_t kTagEnd = 0x00;
constexpr uint8_t kTagAdvance = 0x40;
constexpr uint8_t kTagCgroupName = 0x41;

// Mask bits: the frequent ones first, so most masks fit in one byte.
constexpr uint32_t kLocal = 1u << 0;
constexpr uint32_t kRemote = 1u << 1;
constexpr uint32_t kFlags = 1u << 2;
constexpr uint32_t kTask = 1u << 3;
constexpr uint32_t kOwner = 1u << 4;
constexpr uint32_t kAux0 = 1u << 5;
constexpr uint32_t kAux1 = 1u << 6;
constexpr uint32_t kNetns = 1u << 7;
constexpr uint32_t kTid = 1u << 8;
constexpr uint32_t kHz = 1u << 9;
constexpr uint32_t kWideStates = 1u << 10;  // a state above 15: two bytes
constexpr uint32_t kAllBits = (1u << 11) - 1;

constexpr size_t kMaxComm = 4096;
constexpr size_t kMaxPath = 4096;

bool same_address(const Endpoint& a, const Endpoint& b) { return a.family == b.family && a.addr == b.addr; }
}  // namespace

void EventsEncoder::address(const Endpoint& ep) {
    Address key{ep.family, ep.addr};
    auto [it, added] = addresses_.try_emplace(key, static_cast<uint32_t>(addresses_.size()));
    put_varint(out_, it->second);
    if (!added) return;
    // IPv4 keeps its address in the first 4 bytes; store the rest only if set.
    bool short_v4 = ep.family == 4 && std::all_of(ep.addr.begin() + 4, ep.addr.end(), [](uint8_t b) { return !b; });
    out_.push_back(static_cast<char>(ep.family | (short_v4 ? 0 : 0x80)));
    out_.append(reinterpret_cast<const char*>(ep.addr.data()), short_v4 ? 4 : 16);
}

void EventsEncoder::process(const Process& p) {
    // try_emplace: no map node made and thrown away for a process seen before.
    auto [it, added] =
        processes_.try_emplace(std::make_tuple(p.pid, p.comm, p.cgroup), static_cast<uint32_t>(processes_.size()));
    put_varint(out_, it->second);
    if (!added) return;
    put_varint(out_, p.pid);
    put_bytes(out_, p.comm);
    put_varint(out_, p.cgroup);
}

void EventsEncoder::event(const Event& ev) {
    uint32_t mask = 0;
    if (ev.netns != prev_.netns) mask |= kNetns;
    if (!same_address(ev.local, prev_.local)) mask |= kLocal;
    if (!same_address(ev.remote, prev_.remote)) mask |= kRemote;
    if (ev.flags != prev_.flags) mask |= kFlags;
    if (ev.task != prev_.task) mask |= kTask;
    if (ev.task_tid != ev.task.pid) mask |= kTid;
    if (ev.owner != prev_.owner) mask |= kOwner;
    if (ev.aux0) mask |= kAux0;
    if (ev.aux1) mask |= kAux1;
    if (ev.hz != prev_.hz) mask |= kHz;
    if (ev.old_state > 15 || ev.new_state > 15) mask |= kWideStates;

    out_.push_back(static_cast<char>(ev.kind));
    put_varint(out_, mask);
    put_svarint(out_, static_cast<int64_t>(ev.ts_ns - prev_ts_));
    put_svarint(out_, static_cast<int64_t>(ev.cookie - prev_.cookie));
    put_varint(out_, ev.local.port);
    put_varint(out_, ev.remote.port);
    if (mask & kWideStates) {
        out_.push_back(static_cast<char>(ev.old_state));
        out_.push_back(static_cast<char>(ev.new_state));
    } else {
        out_.push_back(static_cast<char>(ev.old_state << 4 | ev.new_state));
    }
    if (mask & kNetns) put_varint(out_, ev.netns);
    if (mask & kLocal) address(ev.local);
    if (mask & kRemote) address(ev.remote);
    if (mask & kFlags) put_varint(out_, ev.flags);
    if (mask & kTask) process(ev.task);
    if (mask & kTid) put_svarint(out_, static_cast<int64_t>(ev.task_tid) - static_cast<int64_t>(ev.task.pid));
    if (mask & kOwner) process(ev.owner);
    // Timewait events carry the timer's expiry in aux0 and jiffies in
    // aux1: store jiffies as a delta and the expiry relative to it.
    if (mask & kAux1) {
        put_svarint(out_, static_cast<int64_t>(ev.aux1 - prev_jiffies_));
        prev_jiffies_ = ev.aux1;
    }
    if (mask & kAux0) {
        if (mask & kAux1)
            put_svarint(out_, static_cast<int64_t>(ev.aux0 - ev.aux1));
        else
            put_varint(out_, ev.aux0);
    }
    if (mask & kHz) put_varint(out_, ev.hz);

    prev_ = ev;
    prev_.kaddr = 0;
    prev_ts_ = ev.ts_ns;
    ++events_;
}

void EventsEncoder::advance(uint64_t mono_ns) {
    out_.push_back(static_cast<char>(kTagAdvance));
    put_svarint(out_, static_cast<int64_t>(mono_ns - prev_ts_));
    prev_ts_ = mono_ns;
}

void EventsEncoder::cgroup_name(uint64_t id, std::string_view path) {
    out_.push_back(static_cast<char>(kTagCgroupName));
    put_varint(out_, id);
    put_bytes(out_, path.substr(0, kMaxPath));
}

std::string EventsEncoder::finish(const std::optional<FlushStatus>& status) {
    std::string payload;
    finish(status, payload);
    return payload;
}

void EventsEncoder::finish(const std::optional<FlushStatus>& status, std::string& payload) {
    out_.push_back(static_cast<char>(kTagEnd));
    if (status) {
        const DropCounters& d = status->drops;
        // The skip count only when a reader could not derive it (see
        // legacy_recursion_skipped): the bytes stay those of older versions
        // whenever the kernel skipped at least as many hits as were caught.
        const bool skipped = d.recursion_skipped != legacy_recursion_skipped(d);
        put_varint(out_, skipped ? 9 : 8);
        for (uint64_t v : {status->mono_ns, d.events, d.ringbuf_drops, d.sock_untracked, d.sock_map_full,
                           d.nested_caught, d.recursion_lost, d.no_cookie})
            put_varint(out_, v);
        if (skipped) put_varint(out_, d.recursion_skipped);
    } else {
        put_varint(out_, 0);
    }
    // A new frame: nothing carries over (format.hpp) but the spare storage.
    std::string spare = std::move(payload);
    spare.clear();
    payload = std::move(out_);
    *this = EventsEncoder();
    out_ = std::move(spare);
}

namespace {
class ItemDecoder {
public:
    explicit ItemDecoder(std::string_view payload) : in_(payload) {}

    std::optional<DecodedItems> run() {
        DecodedItems out;
        for (;;) {
            uint8_t tag = in_.byte();
            if (!in_.ok()) return std::nullopt;
            if (tag == kTagEnd) break;
            Item item;
            if (tag == kTagAdvance) {
                item.type = Item::Type::Advance;
                prev_ts_ += static_cast<uint64_t>(in_.svarint());
                item.ts_ns = prev_ts_;
            } else if (tag == kTagCgroupName) {
                item.type = Item::Type::CgroupName;
                item.cgroup_id = in_.varint();
                item.cgroup_path = std::string(in_.string(kMaxPath));
            } else if (tag >= static_cast<uint8_t>(EventKind::State) &&
                       tag <= static_cast<uint8_t>(EventKind::TwProbe)) {
                item.event = event(static_cast<EventKind>(tag));
            } else {
                return std::nullopt;
            }
            if (!in_.ok()) return std::nullopt;
            out.items.push_back(std::move(item));
        }
        uint64_t n = in_.varint();
        if (!in_.ok() || n > 64) return std::nullopt;
        std::vector<uint64_t> v(9, 0);
        for (uint64_t i = 0; i < n; ++i) {
            uint64_t x = in_.varint();
            if (i < v.size()) v[i] = x;
        }
        if (!in_.ok() || !in_.done()) return std::nullopt;
        if (n >= 1) {
            FlushStatus s;
            s.mono_ns = v[0];
            s.drops = DropCounters{v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
            if (n < 9) s.drops.recursion_skipped = legacy_recursion_skipped(s.drops);
            out.status = s;
        }
        return out;
    }

private:
    void endpoint_address(Endpoint& ep) {
        uint64_t ref = in_.varint();
        if (ref < addresses_.size()) {
            ep.family = addresses_[ref].first;
            ep.addr = addresses_[ref].second;
            return;
        }
        if (ref != addresses_.size()) return in_.fail();
        uint8_t fam = in_.byte();
        std::array<uint8_t, 16> addr{};
        std::string_view bytes = in_.bytes(fam & 0x80 || (fam & 0x7f) != 4 ? 16 : 4);
        std::copy(bytes.begin(), bytes.end(), addr.begin());
        ep.family = fam & 0x7f;
        ep.addr = addr;
        addresses_.emplace_back(ep.family, addr);
    }

    Process process() {
        uint64_t ref = in_.varint();
        if (ref < processes_.size()) return processes_[ref];
        if (ref != processes_.size()) return in_.fail(), Process{};
        Process p;
        p.pid = static_cast<uint32_t>(in_.varint());
        p.comm = std::string(in_.string(kMaxComm));
        p.cgroup = in_.varint();
        processes_.push_back(p);
        return p;
    }

    Event event(EventKind kind) {
        Event ev = prev_;
        ev.kind = kind;
        uint64_t mask = in_.varint();
        if (mask & ~static_cast<uint64_t>(kAllBits)) return in_.fail(), ev;
        prev_ts_ += static_cast<uint64_t>(in_.svarint());
        ev.ts_ns = prev_ts_;
        ev.cookie = prev_.cookie + static_cast<uint64_t>(in_.svarint());
        ev.local.port = static_cast<uint16_t>(in_.varint());
        ev.remote.port = static_cast<uint16_t>(in_.varint());
        if (mask & kWideStates) {
            ev.old_state = in_.byte();
            ev.new_state = in_.byte();
        } else {
            uint8_t s = in_.byte();
            ev.old_state = s >> 4;
            ev.new_state = s & 0x0f;
        }
        if (mask & kNetns) ev.netns = static_cast<uint32_t>(in_.varint());
        if (mask & kLocal) endpoint_address(ev.local);
        if (mask & kRemote) endpoint_address(ev.remote);
        if (mask & kFlags) ev.flags = static_cast<uint16_t>(in_.varint());
        if (mask & kTask) ev.task = process();
        ev.task_tid = ev.task.pid;
        if (mask & kTid) ev.task_tid = static_cast<uint32_t>(static_cast<int64_t>(ev.task.pid) + in_.svarint());
        if (mask & kOwner) ev.owner = process();
        ev.aux0 = ev.aux1 = 0;
        if (mask & kAux1) {
            prev_jiffies_ += static_cast<uint64_t>(in_.svarint());
            ev.aux1 = prev_jiffies_;
        }
        if (mask & kAux0) ev.aux0 = (mask & kAux1) ? ev.aux1 + static_cast<uint64_t>(in_.svarint()) : in_.varint();
        if (mask & kHz) ev.hz = static_cast<uint32_t>(in_.varint());
        ev.kaddr = 0;
        prev_ = ev;
        return ev;
    }

    Cursor in_;
    Event prev_;
    uint64_t prev_ts_ = 0, prev_jiffies_ = 0;
    std::vector<std::pair<uint8_t, std::array<uint8_t, 16>>> addresses_;
    std::vector<Process> processes_;
};
}  // namespace

std::optional<DecodedItems> decode_items(std::string_view payload) { return ItemDecoder(payload).run(); }

}  // namespace tcplinger::rec
