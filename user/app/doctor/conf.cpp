#include "app/doctor/conf.hpp"

#include <algorithm>
#include <sstream>

#include "app/doctor/knobs.hpp"
#include "stats/headroom.hpp"

namespace tcplinger::doctor {

std::string_view answer_kind_name(AnswerKind k) {
    switch (k) {
        case AnswerKind::Ok:
            return "ok";
        case AnswerKind::Default:
            return "default";
        case AnswerKind::Myth:
            return "myth";
        case AnswerKind::Risky:
            return "risky";
        case AnswerKind::Missing:
            return "missing";
        case AnswerKind::Removed:
            return "removed";
        case AnswerKind::Foreign:
            return "foreign";
        case AnswerKind::Syntax:
            return "syntax";
    }
    return "?";
}

Severity LineVerdict::worst() const {
    Severity s = Severity::Ok;
    for (const auto& a : answers) s = std::max(s, a.severity);
    return s;
}

namespace {
std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
}  // namespace

std::vector<ConfLine> parse_conf(const std::string& text) {
    std::vector<ConfLine> out;
    std::istringstream in(text);
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
        ++number;
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        ConfLine c;
        c.number = number;
        c.text = raw;
        size_t eq = line.find('=');
        if (eq == std::string::npos) {
            c.syntax_error = true;
            out.push_back(c);
            continue;
        }
        std::string key = trim(line.substr(0, eq));
        if (!key.empty() && key[0] == '-') {
            c.ignore_missing = true;
            key = trim(key.substr(1));
        }
        if (key.empty() || key.find_first_of(" \t") != std::string::npos) {
            c.syntax_error = true;
            out.push_back(c);
            continue;
        }
        c.raw_key = key;
        c.key = normalize_key(key);
        c.value = normalize_value(line.substr(eq + 1));
        out.push_back(c);
    }
    return out;
}

namespace {
class LineChecker {
public:
    LineChecker(const std::map<std::string, std::string>& all, const ConfContext& ctx) : all_(all), ctx_(ctx) {}

    LineVerdict check(const ConfLine& l) {
        LineVerdict v;
        v.line = l;
        auto add = [&](AnswerKind k, Severity s, std::string text) { v.answers.push_back({k, s, std::move(text)}); };
        if (l.syntax_error) {
            add(AnswerKind::Syntax, Severity::Problem, "not 'key = value': sysctl rejects this line");
            return v;
        }
        if (const RemovedKey* r = find_removed(l.key)) {
            add(AnswerKind::Removed, l.ignore_missing ? Severity::Warn : Severity::Problem,
                std::string("removed in Linux ") + std::string(r->removed_in) + ": " + std::string(r->why) +
                    (l.ignore_missing ? " (the '-' prefix makes sysctl skip it; the line does nothing)" : ""));
            return v;
        }
        if (const ForeignKey* f = find_foreign(l.key)) {
            std::string eq(f->linux_equivalent);
            add(AnswerKind::Foreign, Severity::Problem,
                std::string("a ") + std::string(f->os) + " key; Linux has no such sysctl" +
                    (eq.empty() ? "" : " (on Linux: " + eq + ")"));
            return v;
        }
        if (ctx_.key_exists && !ctx_.key_exists(l.raw_key)) {
            add(AnswerKind::Missing, l.ignore_missing ? Severity::Warn : Severity::Problem,
                std::string("no such key on this kernel") +
                    (l.ignore_missing ? " ('-' prefix: sysctl skips it, the line does nothing)"
                                      : ": `sysctl -p` fails on this line"));
            return v;
        }
        const Knob* k = find_knob(l.key);
        risky(l, add);
        if (k && !k->myth.empty())
            add(AnswerKind::Myth, Severity::Info, std::string(k->myth) + ": " + std::string(k->does));
        if (k && !k->default_value.empty() && normalize_value(k->default_value) == l.value)
            add(AnswerKind::Default, Severity::Info, "already the default: the line changes nothing");
        if (v.answers.empty()) {
            std::string text = k ? std::string(k->does) : "a key this kernel has; doctor has nothing to say about it";
            if (ctx_.current)
                if (auto cur = ctx_.current(l.raw_key)) text += " (now " + *cur + ")";
            add(AnswerKind::Ok, Severity::Ok, text);
        }
        return v;
    }

private:
    template <class Add>
    void risky(const ConfLine& l, Add& add) {
        auto num = [&]() -> std::optional<long long> {
            try {
                size_t used = 0;
                long long n = std::stoll(l.value, &used);
                if (used == l.value.size()) return n;
            } catch (const std::exception&) {
            }
            return std::nullopt;
        };
        if (l.key == "net.ipv4.tcp_max_tw_buckets") {
            auto n = num();
            if (n && static_cast<uint64_t>(*n) < ctx_.time_wait_now)
                add(AnswerKind::Risky, Severity::Problem,
                    "this host has " + thousands(ctx_.time_wait_now) + " sockets in TIME-WAIT now: with " +
                        thousands(*n) + " the rest close with no TIME-WAIT (TCPTimeWaitOverflow)");
            else if (n && *n < 65536)
                add(AnswerKind::Risky, Severity::Warn,
                    "a low limit does not make TIME-WAIT cheaper (about 200 bytes each): beyond it connections lose "
                    "TIME-WAIT's protection (tcp_minisocks.c: tcp_time_wait, TCPTimeWaitOverflow)");
        } else if (l.key == "net.ipv4.ip_local_port_range") {
            auto r = headroom::parse_port_range(l.value);
            if (!r) {
                add(AnswerKind::Syntax, Severity::Problem, "give two ports, low high (e.g. 32768 60999)");
                return;
            }
            bool reserved = all_.count("net.ipv4.ip_local_reserved_ports") ||
                            (ctx_.current && ctx_.current("net.ipv4.ip_local_reserved_ports").value_or("") != "");
            if (r->low < 32768 && !reserved)
                add(AnswerKind::Risky, Severity::Warn,
                    "starts below 32768 with no ip_local_reserved_ports: outgoing connections can take the ports "
                    "services listen on (inet_hashtables.c: __inet_hash_connect picks any free port in the range)");
            std::string inside;
            for (uint16_t p : ctx_.listening_ports) {
                if (!r->contains(p)) continue;
                // Appended in two steps: `"," + std::to_string()` trips GCC 12's
                // -Wrestrict false positive at -O3 (GCC bug 105329).
                if (!inside.empty()) inside += ',';
                inside += std::to_string(p);
            }
            if (!inside.empty())
                add(AnswerKind::Risky, Severity::Warn,
                    "ports this host listens on fall inside the new range (" + inside +
                        "): reserve them in ip_local_reserved_ports");
            if (r->size() < ctx_.max_ports_to_one_destination)
                add(AnswerKind::Risky, Severity::Problem,
                    "only " + thousands(r->size()) + " ports, but the busiest destination holds " +
                        thousands(ctx_.max_ports_to_one_destination) +
                        " local ports now: connect() would fail with "
                        "EADDRNOTAVAIL");
        } else if (l.key == "net.ipv4.tcp_timestamps" && l.value == "0") {
            add(AnswerKind::Risky, Severity::Warn,
                "turns off PAWS and TIME-WAIT reuse (tcp_ipv4.c: tcp_twsk_unique needs the peer's timestamp)");
        } else if (l.key == "net.ipv4.tcp_tw_reuse" && l.value != "0") {
            auto ts = all_.find("net.ipv4.tcp_timestamps");
            if (ts != all_.end() && ts->second == "0")
                add(AnswerKind::Risky, Severity::Warn, "has no effect: the same configuration sets tcp_timestamps=0");
        } else if (l.key == "net.ipv4.tcp_syncookies" && l.value == "0") {
            add(AnswerKind::Risky, Severity::Warn, "a full SYN queue then drops connections instead of using cookies");
        } else if (l.key == "net.ipv4.tcp_fin_timeout") {
            auto n = num();
            if (n && *n < 60)
                add(AnswerKind::Myth, Severity::Info,
                    "shortens orphaned FIN-WAIT-2 to " + std::to_string(*n) +
                        " s; TIME-WAIT stays 60 s "
                        "(TCP_TIMEWAIT_LEN, tcp_minisocks.c: tcp_time_wait)");
        }
    }

    const std::map<std::string, std::string>& all_;
    const ConfContext& ctx_;
};
}  // namespace

std::vector<LineVerdict> check_conf(const std::vector<ConfLine>& lines, const std::map<std::string, std::string>& all,
                                    const ConfContext& ctx) {
    std::vector<LineVerdict> out;
    LineChecker checker(all, ctx);
    for (const auto& l : lines) {
        LineVerdict v = checker.check(l);
        // The fin_timeout myth is said once, with the value.
        bool specific = std::any_of(v.answers.begin(), v.answers.end(), [](const ConfAnswer& a) {
            return a.kind == AnswerKind::Myth && a.text.rfind("shortens", 0) == 0;
        });
        if (specific)
            v.answers.erase(std::remove_if(v.answers.begin(), v.answers.end(),
                                           [](const ConfAnswer& a) {
                                               return a.kind == AnswerKind::Myth && a.text.rfind("shortens", 0) != 0;
                                           }),
                            v.answers.end());
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace tcplinger::doctor
