// Decoded events: plain C++ values made from the BPF records (or from a
// recording). Everything after the tracer works on these.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct tl_event;

namespace tcplinger {

enum class EventKind : uint8_t {
    State = 1,
    TwStart = 2,
    TwCancel = 3,
    TwExpire = 4,
    TwReuse = 5,
    Owner = 6,
    Existing = 7,
    TwProbe = 8,
    TwBirth = 9,  // lean mode (stats): TwStart merged with the full socket's X -> CLOSE
};

// include/net/tcp_states.h
enum TcpState : uint8_t {
    kEstablished = 1,
    kSynSent = 2,
    kSynRecv = 3,
    kFinWait1 = 4,
    kFinWait2 = 5,
    kTimeWait = 6,
    kClose = 7,
    kCloseWait = 8,
    kLastAck = 9,
    kListen = 10,
    kClosing = 11,
    kNewSynRecv = 12,
};

// Names as `ss` prints them (ESTAB is spelled out), the same everywhere.
std::string_view state_name(uint8_t state);
// Accepts ss names, kernel names (TCP_FIN_WAIT2, FIN_WAIT2) and numbers.
std::optional<uint8_t> parse_state(std::string_view text);

struct Process {
    uint32_t pid = 0;
    std::string comm;
    uint64_t cgroup = 0;
    bool known() const { return pid != 0; }
    bool operator==(const Process&) const = default;
};

struct Endpoint {
    uint8_t family = 4;              // 4 or 6
    std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
    uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
    auto operator<=>(const Endpoint&) const = default;
};

// As inet_ntop writes it (any family but 6 is IPv4).
std::string format_addr(uint8_t family, const std::array<uint8_t, 16>& addr);
// "1.2.3.4:80", "[::1]:80"
std::string format_endpoint(const Endpoint& ep);
// The same, appended to a reused buffer (the hot renderers' form).
void append_addr(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr);
void append_endpoint(std::string& out, const Endpoint& ep);

namespace flag {
constexpr uint16_t kTaskCtx = 0x0001;
constexpr uint16_t kOwnerKnown = 0x0002;
constexpr uint16_t kNetDying = 0x0004;
constexpr uint16_t kConnectReuse = 0x0008;
constexpr uint16_t kDue = 0x0010;
constexpr uint16_t kNoCookie = 0x0020;
constexpr uint16_t kSkErr = 0x0040;
constexpr uint16_t kOwnerIsCloser = 0x0080;  // owner is the close()/shutdown() caller (lean mode)
constexpr uint16_t kTwOverflow = 0x0100;     // X -> CLOSE in tcp_time_wait() with tcp_max_tw_buckets full
}  // namespace flag

struct Event {
    EventKind kind = EventKind::State;
    uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
    uint64_t cookie = 0;
    uint32_t netns = 0;
    Endpoint local, remote;
    uint8_t old_state = 0, new_state = 0;
    uint16_t flags = 0;
    Process task;  // current task (tid in task_tid)
    uint32_t task_tid = 0;
    Process owner;  // valid when flags & kOwnerKnown
    uint64_t aux0 = 0, aux1 = 0;
    uint32_t hz = 0;
    uint64_t kaddr = 0;  // timewait socket address, live only (never recorded or printed)

    bool in_task() const { return flags & flag::kTaskCtx; }
    bool owner_known() const { return flags & flag::kOwnerKnown; }
    bool operator==(const Event&) const = default;
};

// Decodes one BPF record. Returns nothing for a record of another ABI.
std::optional<Event> decode(const tl_event& raw);
// The inverse, used by recordings and tests.
tl_event encode(const Event& ev);

// TIME-WAIT, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK, CLOSING.
inline constexpr std::array<uint8_t, 5> kLingeringStates = {kTimeWait, kFinWait2, kCloseWait, kLastAck, kClosing};
bool is_lingering(uint8_t state);

}  // namespace tcplinger
