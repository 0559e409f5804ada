// Appending text to a reused std::string: the hot renderers build each line
// in one buffer and hand it to the stream in one write.
#pragma once
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcplinger {

// Decimal, as `out << v` prints an unsigned value.
inline void append_uint(std::string& out, uint64_t v) {
    char buf[20];
    auto end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
    out.append(buf, end);
}

// Exactly `digits` decimal digits, zero-padded ("%0*u" for v < 10^digits).
inline void append_digits(std::string& out, unsigned v, int digits) {
    char buf[10];
    for (int i = digits - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    out.append(buf, static_cast<size_t>(digits));
}

// Pads what was appended since `start` with spaces to `width` ("%-*s").
inline void pad_from(std::string& out, size_t start, size_t width) {
    size_t len = out.size() - start;
    if (len < width) out.append(width - len, ' ');
}

}  // namespace tcplinger
