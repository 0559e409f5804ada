#include "render/fields.hpp"

#include <ctime>

#include "render/append.hpp"
#include "render/escape.hpp"

namespace tcplinger {

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000ULL;

bool needs_csv_quotes(std::string_view s) { return s.find_first_of(",\"\r\n") != std::string_view::npos; }
}  // namespace

void append_strftime(std::string& out, uint64_t wall_ns, const char* fmt, bool utc) {
    time_t secs = static_cast<time_t>(wall_ns / kNsPerSec);
    struct tm tm {};
    if (utc)
        gmtime_r(&secs, &tm);
    else
        localtime_r(&secs, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof(buf), fmt, &tm);
    out.append(buf, n);
}

void SecondStamp::refresh(uint64_t wall_ns) {
    text_.clear();
    append_strftime(text_, wall_ns, fmt_, utc_);
    sec_ = wall_ns / kNsPerSec;
}

void append_csv_field(std::string& out, std::string_view s) {
    if (!needs_csv_quotes(s)) {
        out.append(s);
        return;
    }
    out.push_back('"');
    for (char c : s) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
}

void append_csv_text(std::string& out, std::string_view s) {
    bool ascii = true;
    for (char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii) {  // most comms: already UTF-8
        append_csv_field(out, s);
        return;
    }
    std::string utf8;
    append_utf8(utf8, s);
    append_csv_field(out, utf8);
}

}  // namespace tcplinger
