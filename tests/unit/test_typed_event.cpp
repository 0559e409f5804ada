// decode_typed: each record kind's per-kind fields under their own names,
// lean mode's birth record as the timer start it stands for, and CONFIG_HZ
// as a fact of the session.
#include <gtest/gtest.h>

#include <vector>

#include "core/typed_event.hpp"
#include "lifecycle/engine.hpp"

using namespace tcplinger;

namespace {

Event record(EventKind kind, uint8_t old_state, uint8_t new_state, uint64_t aux0 = 0, uint64_t aux1 = 0) {
    Event ev;
    ev.kind = kind;
    ev.ts_ns = 5'000'000'000;
    ev.cookie = 77;
    ev.netns = 4026531840u;
    ev.local.addr = {127, 0, 0, 1};
    ev.local.port = 40000;
    ev.remote.addr = {127, 0, 0, 1};
    ev.remote.port = 80;
    ev.old_state = old_state;
    ev.new_state = new_state;
    ev.aux0 = aux0;
    ev.aux1 = aux1;
    ev.task = Process{10, "curl", 3};
    ev.task_tid = 11;
    return ev;
}

std::vector<TypedEvent> typed(const Event& rec, SessionFacts* facts = nullptr) {
    // The Subject points into rec: copy what the checks read.
    std::vector<TypedEvent> out;
    decode_typed(rec, facts, [&](const TypedEvent& t) { out.push_back(t); });
    return out;
}

// The meaning alone, by value (it holds no pointers).
What what_of(const Event& rec) {
    auto out = typed(rec);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? What{} : out[0].what;
}

}  // namespace

TEST(TypedEvent, StateChangeNamesTheTimeInTheOldState) {
    Event rec = record(EventKind::State, kFinWait1, kFinWait2, 1234);
    rec.flags = flag::kTaskCtx | flag::kSkErr;
    auto out = typed(rec);
    ASSERT_EQ(out.size(), 1u);
    const auto& sc = std::get<StateChange>(out[0].what);
    EXPECT_EQ(sc.from, kFinWait1);
    EXPECT_EQ(sc.to, kFinWait2);
    ASSERT_TRUE(sc.time_in_old_ns);
    EXPECT_EQ(*sc.time_in_old_ns, 1234u);
    EXPECT_TRUE(sc.sk_err);
    EXPECT_FALSE(sc.tw_overflow);
    EXPECT_TRUE(out[0].who.in_task());
    EXPECT_EQ(out[0].who.task().comm, "curl");
    EXPECT_EQ(out[0].who.tid(), 11u);
    EXPECT_EQ(out[0].who.cookie(), 77u);
    EXPECT_EQ(out[0].who.local().port, 40000);

    rec.aux0 = 0;  // BPF did not see the entry
    EXPECT_FALSE(std::get<StateChange>(what_of(rec)).time_in_old_ns);
}

TEST(TypedEvent, TimerRecordsCarryExpiryAndJiffiesByName) {
    Event rec = record(EventKind::TwCancel, 0, kTimeWait, 1'015'000, 1'000'000);
    rec.flags = flag::kDue | flag::kConnectReuse;
    rec.kaddr = 0xffff0000;
    const auto op = std::get<TimerOp>(what_of(rec));
    EXPECT_EQ(op.op, TimerOp::Op::Cancel);
    EXPECT_EQ(op.substate, kTimeWait);
    EXPECT_EQ(op.expires, 1'015'000u);
    EXPECT_EQ(op.jiffies, 1'000'000u);
    EXPECT_EQ(op.kaddr, 0xffff0000u);
    EXPECT_TRUE(op.due);
    EXPECT_TRUE(op.connect_reuse);
    EXPECT_FALSE(op.net_dying);
    EXPECT_FALSE(op.handoff);
    EXPECT_EQ(std::get<TimerOp>(what_of(record(EventKind::TwStart, 0, kFinWait2))).op, TimerOp::Op::Start);
    EXPECT_EQ(std::get<TimerOp>(what_of(record(EventKind::TwExpire, 0, kTimeWait))).op, TimerOp::Op::Expire);
    EXPECT_TRUE(std::holds_alternative<Reuse>(what_of(record(EventKind::TwReuse, 0, kTimeWait))));
}

// Lean mode's one record for a timewait birth and the full socket's X ->
// CLOSE: a timer start whose handoff names X and the time in it, never
// jiffies (aux1 is that time); its owner fields are the closer.
TEST(TypedEvent, LeanBirthIsATimerStartWithTheFullSocketsLastState) {
    Event rec = record(EventKind::TwBirth, kFinWait2, kTimeWait, 1'015'000, 2'000'000);
    rec.flags = flag::kOwnerKnown | flag::kOwnerIsCloser;
    rec.owner = Process{20, "closer", 4};
    auto out = typed(rec);
    ASSERT_EQ(out.size(), 1u);
    const auto& op = std::get<TimerOp>(out[0].what);
    EXPECT_EQ(op.op, TimerOp::Op::Start);
    EXPECT_EQ(op.substate, kTimeWait);
    EXPECT_EQ(op.expires, 1'015'000u);
    EXPECT_EQ(op.jiffies, 0u) << "aux1 of a birth is a duration, not jiffies";
    ASSERT_TRUE(op.handoff);
    EXPECT_EQ(op.handoff->state, kFinWait2);
    ASSERT_TRUE(op.handoff->time_in_state_ns);
    EXPECT_EQ(*op.handoff->time_in_state_ns, 2'000'000u);
    ASSERT_TRUE(out[0].who.closer());
    EXPECT_EQ(out[0].who.closer()->comm, "closer");
    EXPECT_EQ(out[0].who.owner(), nullptr);

    rec.flags = flag::kOwnerKnown;  // full capture: the owner is the owner
    auto full = typed(rec);
    EXPECT_EQ(full[0].who.closer(), nullptr);
    ASSERT_TRUE(full[0].who.owner());
    EXPECT_EQ(full[0].who.owner()->pid, 20u);
    rec.flags = 0;
    EXPECT_EQ(typed(rec)[0].who.owner(), nullptr);
}

TEST(TypedEvent, ExistingSplitsInodeFromTimer) {
    const auto full = std::get<Existing>(what_of(record(EventKind::Existing, 0, kEstablished, 99)));
    EXPECT_EQ(full.state, kEstablished);
    EXPECT_EQ(full.inode, 99u);
    EXPECT_EQ(full.expires, 0u);
    const auto tw = std::get<Existing>(what_of(record(EventKind::Existing, kFinWait2, kTimeWait, 5000, 4000)));
    EXPECT_EQ(tw.state, kTimeWait);
    EXPECT_EQ(tw.substate, kFinWait2);
    EXPECT_EQ(tw.inode, 0u);
    EXPECT_EQ(tw.expires, 5000u);
    EXPECT_EQ(tw.jiffies, 4000u);
    const auto probe = std::get<Probe>(what_of(record(EventKind::TwProbe, 0, kTimeWait, 5000, 4000)));
    EXPECT_EQ(probe.substate, kTimeWait);
    EXPECT_EQ(probe.expires, 5000u);
    EXPECT_EQ(probe.jiffies, 4000u);
    EXPECT_EQ(std::get<Taken>(what_of(record(EventKind::Owner, 0, kCloseWait))).state, kCloseWait);
}

TEST(TypedEvent, HzIsASessionFactKeptAcrossRecordsWithout) {
    SessionFacts facts;
    Event a = record(EventKind::TwStart, 0, kTimeWait, 1, 1);
    a.hz = 250;
    typed(a, &facts);
    EXPECT_EQ(facts.hz, 250u);
    typed(record(EventKind::TwProbe, 0, kTimeWait), &facts);  // probe answers carry none
    EXPECT_EQ(facts.hz, 250u);
    a.hz = 1000;  // a recording set that spans hosts
    typed(a, &facts);
    EXPECT_EQ(facts.hz, 1000u);
}

TEST(TypedEvent, AnUnknownKindDecodesToNothing) {
    Event rec = record(static_cast<EventKind>(42), 0, 0);
    EXPECT_TRUE(typed(rec).empty());
}

// The engine sees one dialect: a lean birth gives the same stays as the
// full capture's entry into FIN-WAIT-2, timer start and X -> CLOSE.
TEST(TypedEvent, LeanBirthAndFullCaptureGiveTheSameStays) {
    auto stays = [](const std::vector<Event>& records) {
        Engine e;
        std::vector<Residency> out;
        e.on_residency([&](const Residency& r) { out.push_back(r); });
        for (const Event& r : records) e.process(r);
        e.flush();
        return out;
    };
    const uint64_t t0 = 5'000'000'000, in_fw2 = 3'000'000;
    Event enter = record(EventKind::State, kFinWait1, kFinWait2, 1000);
    enter.ts_ns = t0 - in_fw2;
    enter.flags = flag::kTaskCtx;
    Event start = record(EventKind::TwStart, 0, kTimeWait, 1'015'000, 1'000'000);
    start.ts_ns = t0;
    start.hz = 250;
    Event close = record(EventKind::State, kFinWait2, kClose, in_fw2);
    close.ts_ns = t0;
    Event expire = record(EventKind::TwCancel, 0, kTimeWait, 1'015'000, 1'015'000);
    expire.ts_ns = t0 + 60'000'000'000;
    expire.flags = flag::kDue;
    Event ran = expire;
    ran.kind = EventKind::TwExpire;
    Event birth = record(EventKind::TwBirth, kFinWait2, kTimeWait, 1'015'000, in_fw2);
    birth.ts_ns = t0;
    birth.hz = 250;

    auto full = stays({enter, start, close, expire, ran});
    auto lean = stays({birth, expire, ran});
    // The full capture also sees FIN-WAIT-1's end; the lean one starts at
    // FIN-WAIT-2, which it learns from the birth.
    ASSERT_EQ(full.size(), 3u);
    ASSERT_EQ(lean.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const Residency &f = full[i + 1], &l = lean[i];
        EXPECT_EQ(f.state, l.state);
        EXPECT_EQ(f.start_ns, l.start_ns);
        EXPECT_EQ(f.end_ns, l.end_ns);
        EXPECT_EQ(f.reason, l.reason);
    }
    EXPECT_EQ(lean[0].state, kFinWait2);
    EXPECT_EQ(lean[0].duration_ns(), in_fw2);
    EXPECT_EQ(lean[1].state, kTimeWait);
    EXPECT_EQ(lean[1].reason, EndReason::Expired);
}
