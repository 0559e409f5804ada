#include "core/event.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "core/abi_check.hpp"

namespace tcplinger {

namespace {
constexpr std::array<std::string_view, 13> kStateNames = {
    "UNKNOWN", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",  "TIME-WAIT",
    "CLOSE",   "CLOSE-WAIT",  "LAST-ACK", "LISTEN",   "CLOSING",    "NEW-SYN-RECV"};

std::string canonical(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '-' || c == '_') continue;
        out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (out.rfind("TCP", 0) == 0) out.erase(0, 3);
    return out;
}

std::string comm_of(const char* raw) { return std::string(raw, strnlen(raw, TL_COMM_LEN)); }
}  // namespace

std::string_view state_name(uint8_t state) { return state < kStateNames.size() ? kStateNames[state] : "UNKNOWN"; }

std::optional<uint8_t> parse_state(std::string_view text) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && ptr == text.data() + text.size())
        return value >= 1 && value <= 12 ? std::optional<uint8_t>(value) : std::nullopt;
    std::string want = canonical(text);
    if (want == "ESTAB") want = "ESTABLISHED";
    if (want == "SYNRCVD") want = "SYNRECV";
    for (uint8_t s = 1; s < kStateNames.size(); ++s)
        if (canonical(kStateNames[s]) == want) return s;
    return std::nullopt;
}

void append_addr(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr) {
    if (family != 6) {  // dotted decimal is all inet_ntop does for IPv4
        for (int i = 0; i < 4; ++i) {
            if (i) out.push_back('.');
            char buf[4];
            out.append(buf, std::to_chars(buf, buf + sizeof(buf), addr[i]).ptr);
        }
        return;
    }
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
    out.append(buf);
}

void append_endpoint(std::string& out, const Endpoint& ep) {
    if (ep.family == 6) out.push_back('[');
    append_addr(out, ep.family, ep.addr);
    out.append(ep.family == 6 ? "]:" : ":");
    char buf[6];
    out.append(buf, std::to_chars(buf, buf + sizeof(buf), ep.port).ptr);
}

std::string format_addr(uint8_t family, const std::array<uint8_t, 16>& addr) {
    std::string out;
    append_addr(out, family, addr);
    return out;
}

std::string format_endpoint(const Endpoint& ep) {
    std::string out;
    append_endpoint(out, ep);
    return out;
}

std::optional<Event> decode(const tl_event& raw) {
    if (raw.abi != TL_ABI_VERSION || raw.kind < TL_EV_STATE || raw.kind > TL_EV_TW_BIRTH) return std::nullopt;
    if (raw.family != 4 && raw.family != 6) return std::nullopt;
    Event ev;
    ev.kind = static_cast<EventKind>(raw.kind);
    ev.ts_ns = raw.ts_ns;
    ev.cookie = raw.cookie;
    ev.netns = raw.netns;
    ev.local.family = ev.remote.family = raw.family;
    std::memcpy(ev.local.addr.data(), raw.laddr, 16);
    std::memcpy(ev.remote.addr.data(), raw.raddr, 16);
    ev.local.port = raw.lport;
    ev.remote.port = raw.rport;
    ev.old_state = raw.old_state;
    ev.new_state = raw.new_state;
    ev.flags = raw.flags;
    ev.task = Process{raw.pid, comm_of(raw.comm), raw.cgroup_id};
    ev.task_tid = raw.tid;
    if (raw.flags & TL_F_OWNER_KNOWN) ev.owner = Process{raw.owner_pid, comm_of(raw.owner_comm), raw.owner_cgroup};
    ev.aux0 = raw.aux0;
    ev.aux1 = raw.aux1;
    ev.hz = raw.hz;
    ev.kaddr = raw.kaddr;
    return ev;
}

tl_event encode(const Event& ev) {
    tl_event raw{};
    raw.kind = static_cast<uint8_t>(ev.kind);
    raw.abi = TL_ABI_VERSION;
    raw.ts_ns = ev.ts_ns;
    raw.cookie = ev.cookie;
    raw.netns = ev.netns;
    raw.family = ev.local.family;
    std::memcpy(raw.laddr, ev.local.addr.data(), 16);
    std::memcpy(raw.raddr, ev.remote.addr.data(), 16);
    raw.lport = ev.local.port;
    raw.rport = ev.remote.port;
    raw.old_state = ev.old_state;
    raw.new_state = ev.new_state;
    raw.flags = ev.flags;
    raw.pid = ev.task.pid;
    raw.tid = ev.task_tid;
    raw.cgroup_id = ev.task.cgroup;
    std::memcpy(raw.comm, ev.task.comm.data(), std::min<size_t>(ev.task.comm.size(), TL_COMM_LEN));
    if (ev.flags & TL_F_OWNER_KNOWN) {
        raw.owner_pid = ev.owner.pid;
        raw.owner_cgroup = ev.owner.cgroup;
        std::memcpy(raw.owner_comm, ev.owner.comm.data(), std::min<size_t>(ev.owner.comm.size(), TL_COMM_LEN));
    }
    raw.aux0 = ev.aux0;
    raw.aux1 = ev.aux1;
    raw.hz = ev.hz;
    raw.kaddr = ev.kaddr;
    return raw;
}

bool is_lingering(uint8_t state) {
    return std::find(kLingeringStates.begin(), kLingeringStates.end(), state) != kLingeringStates.end();
}

}  // namespace tcplinger
