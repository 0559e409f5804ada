// stats' and report's field lists (render/fields_stats.hpp), walked: each
// field is replaced by one that gives two different values, and every
// format of the row is rendered with each. A format the field list says
// carries the field must change; one it says leaves it out must not, and
// must say why. So a field added to one format only, or an emitter that
// skips a field, fails here.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "render/fields_stats.hpp"
#include "render/stats_format.hpp"

using namespace tcplinger;

namespace {
FieldValue g_value;
template <class Row>
FieldValue fixed(const Row&) {
    return g_value;
}

Endpoint endpoint(uint8_t last) {
    Endpoint e;
    e.family = 4;
    e.addr = {10, 0, 0, last};
    e.port = 80;
    return e;
}

// Two values of a type that every format writes differently.
std::pair<FieldValue, FieldValue> two_values(FieldType type) {
    static const Endpoint a = endpoint(1), b = endpoint(2);
    switch (type) {
        case FieldType::Bool:
            return {FieldValue{.num = 0}, FieldValue{.num = 1}};
        case FieldType::Millis:
            return {FieldValue{.num = 1'000'000}, FieldValue{.num = 2'000'000}};
        case FieldType::Name:
        case FieldType::Text:
            return {FieldValue{.str = "a"}, FieldValue{.str = "b"}};
        case FieldType::Addr:
            return {FieldValue{.endpoint = &a}, FieldValue{.endpoint = &b}};
        case FieldType::Time:
        case FieldType::Uint:
            break;
    }
    return {FieldValue{.num = 1}, FieldValue{.num = 2}};
}

template <class Row>
using Emit = std::function<void(std::string&, std::span<const StatsField<Row>>, const Row&)>;

// Does field i's value reach what emit writes?
template <class Row>
bool reaches(std::span<const StatsField<Row>> fields, size_t i, const Row& row, const Emit<Row>& emit) {
    std::vector<StatsField<Row>> copy(fields.begin(), fields.end());
    copy[i].get = fixed<Row>;
    auto [a, b] = two_values(copy[i].type);
    std::string out_a, out_b;
    g_value = a;
    emit(out_a, copy, row);
    g_value = b;
    emit(out_b, copy, row);
    return out_a != out_b;
}

// Every field in the formats it names, in none it does not, and a reason
// for each format that leaves it out. text_declared: whether the list
// says the field is in the text.
template <class Row>
void expect_every_format(std::span<const StatsField<Row>> fields, const Row& row, const Emit<Row>& text,
                         const std::function<bool(const StatsField<Row>&)>& text_declared) {
    Emit<Row> json = [](std::string& out, std::span<const StatsField<Row>> f, const Row& r) {
        append_json_members(out, f, r);
    };
    ASSERT_FALSE(fields.empty());
    for (size_t i = 0; i < fields.size(); ++i) {
        const StatsField<Row>& f = fields[i];
        SCOPED_TRACE(std::string(f.name));
        EXPECT_FALSE(f.name.empty());
        bool in_text = text_declared(f);
        EXPECT_EQ(reaches(fields, i, row, json), f.json) << "JSON";
        EXPECT_EQ(reaches(fields, i, row, text), in_text) << "text";
        EXPECT_TRUE(f.json || in_text) << "in no format";
        EXPECT_EQ(f.why_not.empty(), f.json && in_text) << "a format without the field says why, and only then";
    }
}

StateFigures some_state() {
    StateFigures f;
    f.entered = 3;
    f.current = 1;
    f.oldest_ns = 5'000'000;
    f.residency.add(1'000'000);
    f.end_reasons[EndReason::Expired] = 2;
    return f;
}
}  // namespace

TEST(FieldLists, StateFieldsReachJsonTheSummaryLinesAndTheTable) {
    expect_every_format<StateFigures>(
        state_fields(), some_state(),
        [](std::string& out, std::span<const StatsField<StateFigures>> f, const StateFigures& s) {
            append_text_line(out, f, s, TextLine::First);
            out.push_back('|');
            append_text_line(out, f, s, TextLine::Second);
            out.push_back('|');
            append_state_header(out, f, "TW", true);
            append_state_cells(out, f, s, true);
            out.push_back('|');
            append_state_header(out, f, "TW", false);
            append_state_cells(out, f, s, false);
        },
        [](const StatsField<StateFigures>& f) { return f.in_text(); });
}

TEST(FieldLists, EndReasonsReachJsonAndTheEndedList) {
    expect_every_format<StateFigures>(
        end_reason_fields(), some_state(),
        [](std::string& out, std::span<const StatsField<StateFigures>> f, const StateFigures& s) {
            append_end_reasons_text(out, f, s);
        },
        [](const StatsField<StateFigures>& f) { return f.in_text(); });
    // The names are the engine's, in its order.
    std::vector<std::string_view> names;
    for (const auto& f : end_reason_fields()) names.push_back(f.name);
    EXPECT_EQ(names,
              (std::vector<std::string_view>{end_reason_name(EndReason::Expired), end_reason_name(EndReason::Reused),
                                             end_reason_name(EndReason::Reset), end_reason_name(EndReason::Purged),
                                             end_reason_name(EndReason::Unknown)}));
}

TEST(FieldLists, HolderFieldsReachJsonAndTheHeldByLine) {
    HeldSocket h{Process{42, "srv", 0}, 5, 901, endpoint(1), endpoint(2), 3'000'000, false};
    expect_every_format<HeldSocket>(
        holder_fields(), h,
        [](std::string& out, std::span<const StatsField<HeldSocket>> f, const HeldSocket& s) {
            append_text_line(out, f, s, TextLine::First);
        },
        [](const StatsField<HeldSocket>& f) { return f.in_text(); });
}

TEST(FieldLists, GroupFieldsReachJsonAndTheNotes) {
    StatsReport r;
    GroupFigures g;
    g.key.pid = 42;
    const GroupRow row{g, r};
    expect_every_format<GroupRow>(
        group_fields(), row,
        [](std::string& out, std::span<const StatsField<GroupRow>> f, const GroupRow& x) { append_notes(out, f, x); },
        [](const StatsField<GroupRow>& f) { return f.in_text(); });
}

// Each --by's key: its fields in JSON, its name in the table's first
// column (KeyForm::text, from the same key).
TEST(FieldLists, EveryGroupByHasAKeyInJsonAndText) {
    for (GroupBy by : {GroupBy::Process, GroupBy::Endpoint, GroupBy::LocalPort, GroupBy::Cgroup, GroupBy::Comm,
                       GroupBy::RemoteAddr}) {
        SCOPED_TRACE(std::string(group_by_name(by)));
        StatsReport r;
        r.by = by;
        GroupFigures g;
        g.key.pid = 42;
        g.key.comm = "srv";
        g.key.cgroup = 7;
        const GroupRow row{g, r};
        const KeyForm& key = key_form(by);
        EXPECT_FALSE(key.header.empty());
        EXPECT_FALSE(key.text(row, 28).empty());
        expect_every_format<GroupRow>(
            key.fields, row, [](std::string&, std::span<const StatsField<GroupRow>>, const GroupRow&) {},
            [](const StatsField<GroupRow>&) { return false; });
    }
}

// Every loss figure is in JSON (or says why not) and in the stderr summary
// line, which has them all; the report's own loss line is the totals.
TEST(FieldLists, LossFiguresReachJsonAndTheSummaryLine) {
    const DropCounters d{1000, 3, 1, 2, 5, 4, 7, 9};
    EngineCounters e;
    const LossRow row{d, e};
    expect_every_format<LossRow>(
        loss_fields(), row,
        [](std::string& out, std::span<const StatsField<LossRow>> f, const LossRow& x) {
            append_template(out, kLossSummary, f, x);
        },
        [](const StatsField<LossRow>&) { return true; });
    // The short line names only fields of the list.
    std::string line;
    append_template(line, kLossLine, loss_fields(), row);
    EXPECT_EQ(line, "lost 7 (ring buffer 3, recursion 4), evicted 3");
}
