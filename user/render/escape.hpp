// Strings that come from outside (a comm any process picks with
// prctl(PR_SET_NAME), cgroup paths, a recording's hostname and command
// line) are escaped once per output kind, here and in json.hpp:
// - text (trace, stats, report): append_text below;
// - JSON (trace -j, stats -j, export): json::append_string, valid UTF-8 kept,
//   every other byte as \u00XX;
// - CSV (export --format csv): the JSON's values, as UTF-8 (append_utf8
//   below), quoted per RFC 4180 (render/fields.cpp).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace tcplinger {

// Length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 if the
// byte there does not begin one (a stray continuation byte, an overlong
// form, a surrogate, beyond U+10FFFF, or cut short). Unicode 15, table 3-7.
size_t utf8_sequence_length(std::string_view s, size_t i);

// Text output for a terminal: printable ASCII as is, except `\` as `\\`;
// newline, tab and carriage return as `\n`, `\t`, `\r`; every other byte
// (controls, DEL, and every byte >= 0x80, UTF-8 or not) as `\xHH` (`ps`
// shows such bytes as `?`; an escape keeps the byte). The result is
// printable ASCII, so it cannot move the cursor, change colours or break a
// line, and its length is its width in columns.
// With max_width, at most that many characters: a longer result is cut at
// an escape's boundary and ends with `~`.
void append_text(std::string& out, std::string_view s, size_t max_width = std::string::npos);
std::string text(std::string_view s, size_t max_width = std::string::npos);

// CSV: the string JSON's \u escapes stand for, written out as UTF-8. Valid
// UTF-8 is kept as is (controls too: a quoted CSV field may hold them); a
// byte that is not part of valid UTF-8 is read as Latin-1, U+00XX of its
// value (0xff gives U+00FF, bytes c3 bf), as json::append_string escapes it.
void append_utf8(std::string& out, std::string_view s);

}  // namespace tcplinger
