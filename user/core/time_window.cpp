#include "core/time_window.hpp"

#include <cctype>
#include <ctime>

#include "core/error.hpp"

namespace tcplinger {

namespace {
class Scanner {
public:
    explicit Scanner(const std::string& s) : s_(s) {}
    bool done() const { return pos_ >= s_.size(); }
    char peek() const { return done() ? '\0' : s_[pos_]; }
    bool eat(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    // Exactly n digits.
    std::optional<int> digits(size_t n) {
        if (pos_ + n > s_.size()) return std::nullopt;
        int v = 0;
        for (size_t i = 0; i < n; ++i) {
            char c = s_[pos_ + i];
            if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
            v = v * 10 + (c - '0');
        }
        pos_ += n;
        return v;
    }
    // ".123456789" -> ns (up to 9 digits), 0 when absent.
    std::optional<uint64_t> fraction() {
        if (!eat('.') && !eat(',')) return 0;
        uint64_t ns = 0;
        size_t n = 0;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
            if (n < 9) ns = ns * 10 + static_cast<uint64_t>(s_[pos_] - '0');
            ++n;
            ++pos_;
        }
        if (n == 0) return std::nullopt;
        for (; n < 9; ++n) ns *= 10;
        return ns;
    }

private:
    const std::string& s_;
    size_t pos_ = 0;
};

struct Clock {
    int hour = 0, min = 0, sec = 0;
    uint64_t frac_ns = 0;
};

// HH:MM[:SS[.frac]]
std::optional<Clock> parse_clock(Scanner& in) {
    Clock c;
    auto h = in.digits(2);
    if (!h || !in.eat(':')) return std::nullopt;
    auto m = in.digits(2);
    if (!m) return std::nullopt;
    c.hour = *h;
    c.min = *m;
    if (in.eat(':')) {
        auto s = in.digits(2);
        if (!s) return std::nullopt;
        c.sec = *s;
        auto f = in.fraction();
        if (!f) return std::nullopt;
        c.frac_ns = *f;
    }
    if (c.hour > 23 || c.min > 59 || c.sec > 60) return std::nullopt;
    return c;
}

// Z, +HH:MM, +HHMM, +HH -> offset east of UTC in seconds; nothing = local.
std::optional<std::optional<long>> parse_zone(Scanner& in) {
    if (in.done()) return std::optional<long>();
    if (in.eat('Z') || in.eat('z')) return std::optional<long>(0);
    int sign = in.eat('+') ? 1 : in.eat('-') ? -1 : 0;
    if (!sign) return std::nullopt;
    auto h = in.digits(2);
    if (!h) return std::nullopt;
    int m = 0;
    if (in.eat(':') || std::isdigit(static_cast<unsigned char>(in.peek()))) {
        auto mm = in.digits(2);
        if (!mm) return std::nullopt;
        m = *mm;
    }
    if (*h > 23 || m > 59) return std::nullopt;
    return std::optional<long>(sign * (*h * 3600L + m * 60L));
}

std::optional<uint64_t> to_ns(struct tm tm, const Clock& c, std::optional<long> zone) {
    tm.tm_hour = c.hour;
    tm.tm_min = c.min;
    tm.tm_sec = c.sec;
    time_t secs;
    if (zone) {
        secs = timegm(&tm) - *zone;
    } else {
        tm.tm_isdst = -1;
        secs = mktime(&tm);
    }
    if (secs == static_cast<time_t>(-1) || secs < 0) return std::nullopt;
    return static_cast<uint64_t>(secs) * 1'000'000'000ULL + c.frac_ns;
}
}  // namespace

std::optional<uint64_t> parse_wall_time(const std::string& text, uint64_t now_wall_ns) {
    Scanner in(text);
    if (in.eat('@')) {
        uint64_t secs = 0;
        size_t n = 0;
        while (std::isdigit(static_cast<unsigned char>(in.peek())) && n < 12) {
            secs = secs * 10 + static_cast<uint64_t>(*in.digits(1));
            ++n;
        }
        auto f = in.fraction();
        if (!n || !f || !in.done()) return std::nullopt;
        return secs * 1'000'000'000ULL + *f;
    }
    struct tm tm {};
    if (text.size() >= 10 && text[4] == '-') {
        auto y = in.digits(4);
        if (!y || !in.eat('-')) return std::nullopt;
        auto mo = in.digits(2);
        if (!mo || !in.eat('-')) return std::nullopt;
        auto d = in.digits(2);
        if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
        tm.tm_year = *y - 1900;
        tm.tm_mon = *mo - 1;
        tm.tm_mday = *d;
        if (in.done()) return to_ns(tm, Clock{}, std::nullopt);
        if (!in.eat('T') && !in.eat('t') && !in.eat(' ')) return std::nullopt;
    } else {
        time_t now = static_cast<time_t>(now_wall_ns / 1'000'000'000ULL);
        localtime_r(&now, &tm);
    }
    auto clock = parse_clock(in);
    if (!clock) return std::nullopt;
    auto zone = parse_zone(in);
    if (!zone || !in.done()) return std::nullopt;
    return to_ns(tm, *clock, *zone);
}

TimeWindow parse_window(const std::string& from, const std::string& to, uint64_t now_wall_ns) {
    TimeWindow w;
    const char* formats = "give 2026-11-22T03:12:00Z, \"2026-11-22 03:12:00\" (local time), 03:12:00 (today) or @EPOCH";
    if (!from.empty()) {
        auto v = parse_wall_time(from, now_wall_ns);
        if (!v) throw FatalError("bad --from '" + from + "': " + formats);
        w.from = *v;
    }
    if (!to.empty()) {
        auto v = parse_wall_time(to, now_wall_ns);
        if (!v) throw FatalError("bad --to '" + to + "': " + formats);
        w.to = *v;
    }
    if (w.from >= w.to) throw FatalError("--from must come before --to");
    return w;
}

}  // namespace tcplinger
