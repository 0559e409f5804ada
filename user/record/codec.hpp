// The payload of an Events (or Carry) frame: the decoded events exactly as
// the live pipeline received them, packed field by field.
//
//   payload := item* 0x00 status
//   item    := kind(1..8) event | 0x40 svarint(ts delta)          (advance mark)
//            | 0x41 varint(cgroup id) string(path)                (cgroup name)
//   event   := varint(mask) svarint(ts delta) svarint(cookie delta) varint(lport)
//              varint(rport) u8(old<<4|new) [fields named by the mask]
//   status  := varint(n) varint*n   (flush time, then the drop counters)
//
// Deltas are taken against the previous item of the same frame; addresses
// and processes are numbered per frame on first use (a reference equal to
// the table size introduces a new entry). A field equal to the previous
// event's is left out. Event::kaddr is a live kernel address: never stored.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/counters.hpp"
#include "core/event.hpp"

namespace tcplinger::rec {

// Written with every Events frame: how far the recording got, and what the
// tracer had lost by then (cumulative since the recording began).
struct FlushStatus {
    uint64_t mono_ns = 0;
    DropCounters drops;
};

class EventsEncoder {
public:
    void event(const Event& ev);
    // The live loop settled timewait ends up to here (Engine::advance).
    void advance(uint64_t mono_ns);
    void cgroup_name(uint64_t id, std::string_view path);
    size_t bytes() const { return out_.size(); }
    size_t events() const { return events_; }
    bool empty() const { return out_.empty(); }
    // The payload so far, closed with the status; starts a new frame.
    std::string finish(const std::optional<FlushStatus>& status);
    // The same into `payload`, whose storage the next frame then reuses
    // (the two swap): a recorder keeps both, and stops allocating.
    void finish(const std::optional<FlushStatus>& status, std::string& payload);

private:
    struct Address {
        uint8_t family = 4;
        std::array<uint8_t, 16> addr{};
        auto operator<=>(const Address&) const = default;
    };
    void address(const Endpoint& ep);
    void process(const Process& p);

    std::string out_;
    size_t events_ = 0;
    std::map<Address, uint32_t> addresses_;
    std::map<std::tuple<uint32_t, std::string, uint64_t>, uint32_t> processes_;
    Event prev_;
    uint64_t prev_ts_ = 0, prev_jiffies_ = 0;
};

struct Item {
    enum class Type : uint8_t { Event, Advance, CgroupName } type = Type::Event;
    Event event;             // Event
    uint64_t ts_ns = 0;      // Advance
    uint64_t cgroup_id = 0;  // CgroupName
    std::string cgroup_path;
};

// Decodes a whole payload; nothing if any of it is damaged.
struct DecodedItems {
    std::vector<Item> items;
    std::optional<FlushStatus> status;
};
std::optional<DecodedItems> decode_items(std::string_view payload);

}  // namespace tcplinger::rec
