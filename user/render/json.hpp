// Minimal JSON writing helpers (output only; tcplinger never parses JSON).
#pragma once
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>

namespace tcplinger::json {

inline void string(std::ostream& out, std::string_view s) {
    out << '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out << "\\\""; break;
        case '\\': out << "\\\\"; break;
        case '\n': out << "\\n"; break;
        case '\t': out << "\\t"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                out << buf;
            } else {
                out << ch;
            }
        }
    }
    out << '"';
}

// Milliseconds with microsecond resolution, as a JSON number.
inline void millis(std::ostream& out, uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ns) / 1e6);
    out << buf;
}

}  // namespace tcplinger::json
