// The recording format's pieces: events survive encode/decode exactly (but
// for the live-only kernel address), frames detect damage, metadata keeps
// every field and skips unknown ones.
#include <gtest/gtest.h>

#include "record/codec.hpp"
#include "record/format.hpp"
#include "record/metadata.hpp"
#include "record_util.hpp"

using namespace tcplinger;
using namespace tcplinger::rec;
using rectest::make_events;

namespace {
Event random_event(std::mt19937_64& rng) {
    Event e;
    e.kind = static_cast<EventKind>(1 + rng() % 8);
    e.ts_ns = rng();
    e.cookie = rng() % 3 ? rng() % 1000 : rng();
    e.netns = static_cast<uint32_t>(rng());
    e.local.family = rng() % 2 ? 4 : 6;
    e.remote.family = rng() % 3 ? e.local.family : (e.local.family == 4 ? 6 : 4);
    for (auto& b : e.local.addr) b = static_cast<uint8_t>(rng() % 3 ? 0 : rng());
    for (auto& b : e.remote.addr) b = static_cast<uint8_t>(rng());
    e.local.port = static_cast<uint16_t>(rng());
    e.remote.port = static_cast<uint16_t>(rng());
    e.old_state = static_cast<uint8_t>(rng() % 20 == 0 ? rng() : rng() % 13);
    e.new_state = static_cast<uint8_t>(rng() % 13);
    e.flags = static_cast<uint16_t>(rng());
    e.task = Process{static_cast<uint32_t>(rng() % 4), "comm" + std::to_string(rng() % 3), rng() % 2};
    e.task_tid = rng() % 2 ? e.task.pid : static_cast<uint32_t>(rng());
    if (rng() % 2) e.owner = Process{static_cast<uint32_t>(rng()), std::string(rng() % 20, 'x'), rng()};
    e.aux0 = rng() % 3 ? rng() : 0;
    e.aux1 = rng() % 3 ? rng() : 0;
    e.hz = rng() % 4 ? 250 : static_cast<uint32_t>(rng());
    return e;
}
}  // namespace

TEST(RecordCodec, RandomEventsRoundTripExactly) {
    std::mt19937_64 rng(42);
    EventsEncoder enc;
    std::vector<Item> want;
    for (int i = 0; i < 5000; ++i) {
        if (i % 97 == 5) {
            Item a;
            a.type = Item::Type::Advance;
            a.ts_ns = rng();
            enc.advance(a.ts_ns);
            want.push_back(a);
            continue;
        }
        if (i % 301 == 7) {
            Item c;
            c.type = Item::Type::CgroupName;
            c.cgroup_id = rng();
            c.cgroup_path = "/system.slice/x" + std::to_string(i) + ".service";
            enc.cgroup_name(c.cgroup_id, c.cgroup_path);
            want.push_back(c);
            continue;
        }
        Item item;
        item.event = random_event(rng);
        item.event.kaddr = rng();  // never stored
        enc.event(item.event);
        item.event.kaddr = 0;
        want.push_back(item);
    }
    FlushStatus status{123456789, DropCounters{1, 2, 3, 4, 5, 6, 7}};
    auto decoded = decode_items(enc.finish(status));
    ASSERT_TRUE(decoded);
    ASSERT_EQ(decoded->items.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(decoded->items[i].type, want[i].type) << i;
        EXPECT_EQ(decoded->items[i].event, want[i].event) << i;
        EXPECT_EQ(decoded->items[i].ts_ns, want[i].ts_ns) << i;
        EXPECT_EQ(decoded->items[i].cgroup_id, want[i].cgroup_id) << i;
        EXPECT_EQ(decoded->items[i].cgroup_path, want[i].cgroup_path) << i;
    }
    ASSERT_TRUE(decoded->status);
    EXPECT_EQ(decoded->status->mono_ns, 123456789u);
    EXPECT_TRUE(same_drops(decoded->status->drops, status.drops));
}

TEST(RecordCodec, RealisticStreamIsSmall) {
    auto events = make_events(rectest::Workload{});
    EventsEncoder enc;
    for (const auto& e : events) enc.event(e);
    std::string payload = enc.finish(std::nullopt);
    // Varints and deltas alone, before zstd: well under the 152-byte tl_event.
    EXPECT_LT(payload.size(), events.size() * 20) << payload.size() << " bytes for " << events.size();
    std::string framed = encode_frame(FrameType::Events, 0, payload, 3);
    EXPECT_LT(framed.size(), payload.size());
    auto decoded = decode_items(payload);
    ASSERT_TRUE(decoded);
    ASSERT_EQ(decoded->items.size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) {
        Event want = events[i];
        want.kaddr = 0;
        EXPECT_EQ(decoded->items[i].event, want) << i;
    }
}

TEST(RecordCodec, DamagedPayloadsAreRejectedNotMisread) {
    auto events = make_events(rectest::Workload{.connections = 20});
    EventsEncoder enc;
    for (const auto& e : events) enc.event(e);
    std::string payload = enc.finish(FlushStatus{1, {}});
    for (size_t cut = 0; cut < payload.size(); ++cut) EXPECT_FALSE(decode_items(payload.substr(0, cut))) << cut;
    std::string bad = payload;
    bad[0] = 0x33;  // no such tag
    EXPECT_FALSE(decode_items(bad));
    EXPECT_FALSE(decode_items(payload + "x")) << "trailing bytes";
}

TEST(RecordFormat, FramesCheckThemselves) {
    std::string payload(1000, 'a');
    for (int level : {0, 3}) {
        std::string frame = encode_frame(FrameType::Events, 7, payload, level);
        auto h = parse_frame_header(frame);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->seq, 7u);
        EXPECT_EQ(h->raw_len, 1000u);
        EXPECT_EQ(static_cast<bool>(h->flags & kFrameZstd), level > 0);
        auto opened = open_frame(*h, frame);
        ASSERT_TRUE(opened);
        EXPECT_EQ(*opened, payload);
        for (size_t i = 0; i < frame.size(); i += 7) {
            std::string bad = frame;
            bad[i] ^= 0x10;
            auto bh = parse_frame_header(bad);
            EXPECT_FALSE(bh && open_frame(*bh, bad)) << "flip at " << i << " level " << level;
        }
    }
    EXPECT_FALSE(parse_frame_header(std::string(10, 'T')));
}

TEST(RecordFormat, PrefixNamesTheVersion) {
    uint16_t v = 0;
    EXPECT_EQ(check_prefix(encode_prefix(), &v), PrefixCheck::Ok);
    EXPECT_EQ(v, kFormatVersion);
    EXPECT_EQ(check_prefix(encode_prefix(9), &v), PrefixCheck::Ok);
    EXPECT_EQ(v, 9);
    EXPECT_EQ(check_prefix("GIF89a....", &v), PrefixCheck::NotRecording);
    EXPECT_EQ(check_prefix("TLREC", &v), PrefixCheck::TooShort);
    std::string bad = encode_prefix();
    bad[9] = 1;
    EXPECT_EQ(check_prefix(bad, &v), PrefixCheck::Damaged);
    // One flipped byte in the signature is damage, two are another format.
    std::string flipped = encode_prefix();
    flipped[3] ^= 0x20;
    EXPECT_EQ(check_prefix(flipped, &v), PrefixCheck::Damaged);
    flipped[5] ^= 0x20;
    EXPECT_EQ(check_prefix(flipped, &v), PrefixCheck::NotRecording);
}

TEST(RecordFormat, Varints) {
    for (uint64_t v : std::vector<uint64_t>{0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX}) {
        std::string s;
        put_varint(s, v);
        Cursor c(s);
        EXPECT_EQ(c.varint(), v);
        EXPECT_TRUE(c.ok() && c.done());
    }
    for (int64_t v : std::vector<int64_t>{0, -1, 1, INT64_MIN, INT64_MAX}) {
        std::string s;
        put_svarint(s, v);
        Cursor c(s);
        EXPECT_EQ(c.svarint(), v);
    }
    const std::string eleven_continuations(11, '\xff');  // longer than any 64-bit varint
    Cursor over(eleven_continuations);
    over.varint();
    EXPECT_FALSE(over.ok());
}

TEST(RecordMetadata, HeaderAndTrailerRoundTrip) {
    FileHeader h;
    h.format_version = kFormatVersion;
    h.tool_version = "0.1.0";
    h.abi = 1;
    h.hostname = "web-1";
    h.kernel_release = "6.18.0";
    h.boot_id = "60384784-e4a1-44e1-a133-2636a4f8a3a3";
    h.clock_offset_ns = -5;
    h.hz = 250;
    h.recording_id = 0xdeadbeefcafef00dULL;
    h.file_index = 3;
    h.recording_start_ns = 10;
    h.file_start_ns = 20;
    h.drops_at_start = DropCounters{1, 2, 3, 4, 5, 6, 7};
    h.command = "tcplinger record -o /x";
    h.netns.push_back(NetnsFacts{4026531840u,
                                 "/proc/1/ns/net",
                                 {{"net.ipv4.tcp_fin_timeout", "60"}, {"net.ipv4.tcp_tw_reuse", "2"}},
                                 {{"TW", 5}, {"TCPTimeWaitOverflow", 0}}});
    std::string encoded = encode_header(h);
    // An unknown key from a newer writer is skipped.
    put_varint(encoded, 999);
    put_bytes(encoded, "future");
    auto back = decode_header(encoded);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->hostname, h.hostname);
    EXPECT_EQ(back->boot_id, h.boot_id);
    EXPECT_EQ(back->clock_offset_ns, -5);
    EXPECT_EQ(back->recording_id, h.recording_id);
    EXPECT_EQ(back->file_index, 3u);
    EXPECT_EQ(back->netns, h.netns);
    EXPECT_TRUE(same_drops(back->drops_at_start, h.drops_at_start));
    EXPECT_EQ(back->command, h.command);

    Trailer t;
    t.end_ns = 99;
    t.drops = DropCounters{9, 8, 7, 6, 5, 4, 3};
    t.netns.push_back(NetnsFacts{4026531840u, "/proc/1/ns/net", {}, {{"TCPTimeWaitOverflow", 4}}});
    t.reason = Trailer::Reason::Rotated;
    t.hz = 250;
    t.events = 1234;
    auto tb = decode_trailer(encode_trailer(t));
    ASSERT_TRUE(tb);
    EXPECT_EQ(tb->end_ns, 99u);
    EXPECT_EQ(tb->reason, Trailer::Reason::Rotated);
    EXPECT_EQ(tb->netns, t.netns);
    EXPECT_EQ(tb->events, 1234u);
    EXPECT_EQ(tw_overflow_between(h.netns, t.netns), (std::map<uint32_t, uint64_t>{{4026531840u, 4}}));
    EXPECT_FALSE(decode_trailer("\x01\x05\x01"));
}
