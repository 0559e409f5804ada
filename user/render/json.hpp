// Minimal JSON writing helpers (output only; tcplinger never parses JSON).
#pragma once
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>

#include "render/append.hpp"

namespace tcplinger::json {

inline void append_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\t': out.append("\\t"); break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
                out.append(esc, sizeof(esc));
            } else {
                out.push_back(ch);
            }
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
