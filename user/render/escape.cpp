#include "render/escape.hpp"

namespace tcplinger {

size_t utf8_sequence_length(std::string_view s, size_t i) {
    auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = at(i);
    if (b < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        if (b == 0xe0) lo = 0xa0;  // overlong
        if (b == 0xed) hi = 0x9f;  // surrogates U+D800..U+DFFF
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        if (b == 0xf0) lo = 0x90;  // overlong
        if (b == 0xf4) hi = 0x8f;  // beyond U+10FFFF
    } else {
        return 0;  // continuation byte, C0/C1 (overlong), F5..FF
    }
    if (i + len > s.size()) return 0;
    if (at(i + 1) < lo || at(i + 1) > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
    return len;
}

namespace {
// The escaped form of one byte into buf; returns its length.
size_t text_unit(unsigned char c, char* buf) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (c >= 0x20 && c < 0x7f && c != '\\') {
        buf[0] = static_cast<char>(c);
        return 1;
    }
    buf[0] = '\\';
    switch (c) {
        case '\\':
            buf[1] = '\\';
            return 2;
        case '\n':
            buf[1] = 'n';
            return 2;
        case '\t':
            buf[1] = 't';
            return 2;
        case '\r':
            buf[1] = 'r';
            return 2;
    }
    buf[1] = 'x';
    buf[2] = kHex[c >> 4];
    buf[3] = kHex[c & 0xf];
    return 4;
}
}  // namespace

void append_text(std::string& out, std::string_view s, size_t max_width) {
    const size_t start = out.size();
    // Where a cut would leave room for the `~`: the end of the last whole
    // unit within max_width - 1 characters.
    size_t cut = start;
    char unit[4];
    for (char ch : s) {
        size_t n = text_unit(static_cast<unsigned char>(ch), unit);
        if (max_width != std::string::npos && out.size() - start + n > max_width) {
            out.resize(cut);
            if (max_width > 0) out.push_back('~');
            return;
        }
        out.append(unit, n);
        if (max_width != std::string::npos && out.size() - start < max_width) cut = out.size();
    }
}

void append_utf8(std::string& out, std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out.push_back(s[i]);
        } else if (size_t n = utf8_sequence_length(s, i); n == 0) {
            out.push_back(static_cast<char>(0xc0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        } else {
            out.append(s.substr(i, n));
            i += n - 1;
        }
    }
}

std::string text(std::string_view s, size_t max_width) {
    std::string out;
    append_text(out, s, max_width);
    return out;
}

}  // namespace tcplinger
