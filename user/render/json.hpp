// Minimal JSON writing helpers (output only; tcplinger never parses JSON).
#pragma once
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>

#include "render/append.hpp"
#include "render/escape.hpp"

namespace tcplinger::json {

// A JSON string, valid whatever the bytes (render/escape.hpp): valid UTF-8
// is kept, except that controls (C0, DEL, C1) are \u escapes of their code
// point; a byte that is not part of valid UTF-8 is \u00XX of its value, as
// if read as Latin-1 (0xff gives "\u00ff", which reads back as U+00FF).
inline void append_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    auto escape = [&](unsigned char c) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(esc, sizeof(esc));
    };
    out.push_back('"');
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out.append("\\\"");
                continue;
            case '\\':
                out.append("\\\\");
                continue;
            case '\n':
                out.append("\\n");
                continue;
            case '\t':
                out.append("\\t");
                continue;
        }
        if (c < 0x20 || c == 0x7f) {
            escape(c);
        } else if (c < 0x80) {
            out.push_back(s[i]);
        } else if (size_t n = utf8_sequence_length(s, i); n == 0) {
            escape(c);
        } else if (c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
            escape(static_cast<unsigned char>(s[++i]));  // C1 control U+0080..U+009F
        } else {
            out.append(s.substr(i, n));
            i += n - 1;
        }
    }
    out.push_back('"');
}

inline void string(std::ostream& out, std::string_view s) {
    std::string buf;
    append_string(buf, s);
    out << buf;
}

// Milliseconds with microsecond resolution, as a JSON number: the digits
// printf("%.3f", ns / 1e6) gives, from the integer wherever they provably
// agree. Below 2^53, ns converts to double exactly and ns / 1e6 (< 2^34)
// rounds to within 0.954 ns (half an ulp, 2^-20 ms) of the true quotient;
// a quotient that is not exactly halfway between two microseconds is at
// least 1 ns from the midpoint, so the double rounds the same way. At the
// midpoint (ns % 1000 == 500) the double's rounding error and printf's
// ties-to-even decide, so printf itself is asked; likewise from 2^53 up.
inline void append_millis(std::string& out, uint64_t ns) {
    uint64_t sub_us = ns % 1000;
    if (ns < (1ULL << 53) && sub_us != 500) {
        uint64_t us = ns / 1000 + (sub_us > 500 ? 1 : 0);
        append_uint(out, us / 1000);
        out.push_back('.');
        append_digits(out, static_cast<unsigned>(us % 1000), 3);
        return;
    }
    char buf[32];
    int n = std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ns) / 1e6);
    out.append(buf, static_cast<size_t>(n));
}

inline void millis(std::ostream& out, uint64_t ns) {
    std::string buf;
    append_millis(buf, ns);
    out << buf;
}

}  // namespace tcplinger::json
