// doctor --conf: a sysctl.conf / sysctl.d file checked line by line
// against this kernel and what this host shows (sysctl.d(5) syntax:
// comments '#' and ';', "key = value", '.' or '/' separators, a leading
// '-' that tells sysctl to ignore an unknown key).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/doctor/findings.hpp"

namespace tcplinger::doctor {

struct ConfLine {
    int number = 0;
    std::string text;             // the line as written
    std::string key;              // dotted, normalized; empty for a syntax error
    std::string raw_key;          // as written (without '-')
    std::string value;            // whitespace folded
    bool ignore_missing = false;  // '-' prefix
    bool syntax_error = false;
};
// The lines that set something (comments and blank lines are left out).
std::vector<ConfLine> parse_conf(const std::string& text);

// What the host shows, for the "risky given this host" answers.
struct ConfContext {
    std::function<bool(const std::string& raw_key)> key_exists;                 // /proc/sys has it
    std::function<std::optional<std::string>(const std::string& key)> current;  // its value now
    uint64_t time_wait_now = 0;                 // sockets in TIME-WAIT (largest namespace)
    uint32_t max_ports_to_one_destination = 0;  // local ports held toward the busiest destination
    std::vector<uint16_t> listening_ports;
};

enum class AnswerKind { Ok, Default, Myth, Risky, Missing, Removed, Foreign, Syntax };
std::string_view answer_kind_name(AnswerKind k);

struct ConfAnswer {
    AnswerKind kind = AnswerKind::Ok;
    Severity severity = Severity::Ok;
    std::string text;
};

struct LineVerdict {
    ConfLine line;
    std::vector<ConfAnswer> answers;  // at least one
    Severity worst() const;
};

// Every line of one file; `all_keys` are the keys the checked files set
// together (ip_local_reserved_ports set in another file counts).
std::vector<LineVerdict> check_conf(const std::vector<ConfLine>& lines,
                                    const std::map<std::string, std::string>& all_keys, const ConfContext& ctx);

}  // namespace tcplinger::doctor
