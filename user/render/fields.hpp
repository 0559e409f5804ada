// One field list per output kind (issue 11): each kind of row (a trace
// line; next, the exporter's series) has one table of fields, each a name, a
// getter and a type that says how every emitter writes its value. JSON Lines
// and CSV walk the same table, so they hold the same values in the same
// order, and neither is made by parsing the other (tcplinger never parses
// JSON). The escaping of strings from outside stays per output kind
// (render/escape.hpp, json.hpp).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/event.hpp"
#include "render/append.hpp"
#include "render/json.hpp"

namespace tcplinger {

// The date and time down to the second in one strftime form, formatted
// once per second: strftime and localtime cost more than the rest of a line.
// (Per emitter, so a TZ change shows in the next one.)
class SecondStamp {
public:
    SecondStamp(const char* fmt, bool utc) : fmt_(fmt), utc_(utc) {}
    void append(std::string& out, uint64_t wall_ns) {
        if (wall_ns / kNsPerSecond != sec_) refresh(wall_ns);
        out.append(text_);
    }

private:
    static constexpr uint64_t kNsPerSecond = 1'000'000'000ULL;
    void refresh(uint64_t wall_ns);

    const char* fmt_;
    bool utc_;
    uint64_t sec_ = UINT64_MAX;
    std::string text_;
};

// strftime of wall_ns's second, in UTC or local time.
void append_strftime(std::string& out, uint64_t wall_ns, const char* fmt, bool utc);
inline constexpr const char* kIsoSecondFormat = "%Y-%m-%dT%H:%M:%S";       // trace -j, UTC
inline constexpr const char* kDatetimeSecondFormat = "%Y-%m-%d %H:%M:%S";  // trace, local time
inline constexpr const char* kTimeOfDaySecondFormat = "%H:%M:%S";          // trace -T, local time

// How a field's value is written. JSON type first, then CSV, then text.
enum class FieldType : uint8_t {
    Time,    // wall-clock ns: ISO 8601 UTC with microseconds, a string
    Uint,    // a decimal number
    Bool,    // true / false
    Millis,  // ns as ms with microsecond resolution (json::append_millis), a number
    Name,    // a fixed ASCII word (a state, an end reason), a string needing no escapes
    Addr,    // an address as inet_ntop writes it, a string
    Text,    // a string from outside (a comm): escaped per output kind
};

// One field's value in one row; null is JSON's null and CSV's empty field.
struct FieldValue {
    bool null = false;
    uint64_t num = 0;                    // Time, Uint, Bool, Millis
    std::string_view str;                // Name, Text
    const Endpoint* endpoint = nullptr;  // Addr
};

template <class Row>
struct Field {
    std::string_view name;
    FieldType type;
    FieldValue (*get)(const Row&);
    // The getter never returns null: JSON then writes a string's quotes
    // as part of the keys around it (one append instead of three).
    bool never_null = false;
};

// RFC 4180: in double quotes, `"` doubled, when it holds `,` `"` or a line break.
void append_csv_field(std::string& out, std::string_view s);
// The ISO 8601 time with microseconds, without quotes.
inline void append_iso8601(std::string& out, uint64_t wall_ns, SecondStamp& iso) {
    iso.append(out, wall_ns);
    out.push_back('.');
    append_digits(out, static_cast<unsigned>((wall_ns % 1'000'000'000ULL) / 1000), 6);
    out.push_back('Z');
}
// A string from outside, for CSV: as UTF-8 (render/escape.hpp: append_utf8), quoted.
void append_csv_text(std::string& out, std::string_view s);

// Inline, so that a table's emitter, unrolled over the table at compile time
// (below), folds each field's switch away and inlines its getter: as fast as
// the hand-written line it replaced.
inline void append_json_value(std::string& out, FieldType type, const FieldValue& v, SecondStamp& iso) {
    if (v.null) {
        out.append("null");
        return;
    }
    switch (type) {
        case FieldType::Time:
            out.push_back('"');
            append_iso8601(out, v.num, iso);
            out.push_back('"');
            return;
        case FieldType::Uint:
            append_uint(out, v.num);
            return;
        case FieldType::Bool:
            if (v.num)
                out.append("true", 4);
            else
                out.append("false", 5);
            return;
        case FieldType::Millis:
            json::append_millis(out, v.num);
            return;
        case FieldType::Name:
            out.push_back('"');
            out.append(v.str);
            out.push_back('"');
            return;
        case FieldType::Addr:
            out.push_back('"');
            append_addr(out, v.endpoint->family, v.endpoint->addr);
            out.push_back('"');
            return;
        case FieldType::Text:
            json::append_string(out, v.str);
            return;
    }
}

// The JSON's value; null is an empty field.
inline void append_csv_value(std::string& out, FieldType type, const FieldValue& v, SecondStamp& iso) {
    if (v.null) return;
    switch (type) {
        case FieldType::Time:
            append_iso8601(out, v.num, iso);
            return;
        case FieldType::Name:
            append_csv_field(out, v.str);
            return;
        case FieldType::Text:
            append_csv_text(out, v.str);
            return;
        case FieldType::Addr:
            append_addr(out, v.endpoint->family, v.endpoint->addr);  // digits, dots, colons: no quotes
            return;
        case FieldType::Uint:
        case FieldType::Bool:
        case FieldType::Millis:
            append_json_value(out, type, v, iso);  // a number or true/false, as in JSON
            return;
    }
}

namespace fields_detail {
// What goes before field I's value: the previous string's closing quote,
// `{` or `,`, `"name":`, and the value's opening quote, made at compile time.
struct JsonKey {
    std::array<char, 48> text{};
    size_t size = 0;
};
template <class F>
constexpr bool quoted_never_null(const F& f) {
    return f.never_null && (f.type == FieldType::Time || f.type == FieldType::Addr || f.type == FieldType::Name);
}
template <const auto& kFields, size_t I>
constexpr JsonKey json_key() {
    JsonKey k;
    if constexpr (I > 0)
        if (quoted_never_null(kFields[I - 1])) k.text[k.size++] = '"';
    k.text[k.size++] = I == 0 ? '{' : ',';
    k.text[k.size++] = '"';
    for (char c : kFields[I].name) k.text[k.size++] = c;
    k.text[k.size++] = '"';
    k.text[k.size++] = ':';
    if (quoted_never_null(kFields[I])) k.text[k.size++] = '"';
    return k;
}

template <const auto& kFields, size_t I, class Row>
[[gnu::always_inline]] inline void append_json_field(std::string& out, const Row& row, SecondStamp& iso) {
    static_assert(kFields[I].name.size() + 6 <= JsonKey{}.text.size(), "field name too long");
    static constexpr JsonKey key = json_key<kFields, I>();
    out.append(key.text.data(), key.size);
    constexpr auto& f = kFields[I];
    if constexpr (quoted_never_null(f)) {
        FieldValue v = f.get(row);
        if constexpr (f.type == FieldType::Time)
            append_iso8601(out, v.num, iso);
        else if constexpr (f.type == FieldType::Addr)
            append_addr(out, v.endpoint->family, v.endpoint->addr);
        else
            out.append(v.str);
    } else {
        append_json_value(out, f.type, f.get(row), iso);
    }
}

template <const auto& kFields>
constexpr std::string_view json_end() {
    return quoted_never_null(kFields[kFields.size() - 1]) ? "\"}\n" : "}\n";
}

template <const auto& kFields, size_t I, class Row>
[[gnu::always_inline]] inline void append_csv_cell(std::string& out, const Row& row, SecondStamp& iso) {
    if (I) out.push_back(',');
    append_csv_value(out, kFields[I].type, kFields[I].get(row), iso);
}
}  // namespace fields_detail

// One JSON object on its own line, the fields in table order. kFields is a
// constexpr std::array<Field<Row>, N>.
template <const auto& kFields, class Row>
void append_json_line(std::string& out, const Row& row, SecondStamp& iso) {
    [&]<size_t... I>(std::index_sequence<I...>) { (fields_detail::append_json_field<kFields, I>(out, row, iso), ...); }
    (std::make_index_sequence<kFields.size()>{});
    out.append(fields_detail::json_end<kFields>());
}

// CSV with the JSON's values: a header row of the names (write it before
// the first row only; none without rows), then a row per object.
template <const auto& kFields>
void append_csv_header(std::string& out) {
    for (size_t i = 0; i < kFields.size(); ++i) {
        if (i) out.push_back(',');
        append_csv_field(out, kFields[i].name);
    }
    out.push_back('\n');
}

template <const auto& kFields, class Row>
void append_csv_row(std::string& out, const Row& row, SecondStamp& iso) {
    [&]<size_t... I>(std::index_sequence<I...>) { (fields_detail::append_csv_cell<kFields, I>(out, row, iso), ...); }
    (std::make_index_sequence<kFields.size()>{});
    out.push_back('\n');
}

}  // namespace tcplinger
