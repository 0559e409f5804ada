#include "app/doctor/render.hpp"

#include <algorithm>
#include <optional>
#include <regex>

#include "render/escape.hpp"
#include "render/json.hpp"

namespace tcplinger::doctor {

namespace {
std::vector<const Finding*> worst_first(const std::vector<Finding>& f) {
    std::vector<const Finding*> out;
    for (const auto& x : f) out.push_back(&x);
    std::stable_sort(out.begin(), out.end(),
                     [](const Finding* a, const Finding* b) { return a->severity > b->severity; });
    return out;
}

// Measured figures ("1,203", "60") are JSON numbers; settings (names with
// a dot: a list like "100,200" is no number) and everything else strings.
std::optional<std::string> as_number(const Evidence& e) {
    static const std::regex number(R"(-?(\d{1,3}(,\d{3})*|\d+)(\.\d+)?)");
    if (e.name.find('.') != std::string::npos || !std::regex_match(e.value, number)) return std::nullopt;
    std::string out;
    for (char c : e.value)
        if (c != ',') out.push_back(c);
    return out;
}

void jevidence(std::ostream& out, const Evidence& e) {
    json::string(out, e.name);
    out << ':';
    if (auto n = as_number(e))
        out << *n;
    else
        json::string(out, e.value);
}

// "[warn]    ": the severity column of the text output. Built by appending:
// `"[" + std::string(...)` trips GCC 12's -Wrestrict false positive at -O3
// (GCC bug 105329).
std::string severity_column(Severity s) {
    std::string tag = "[";
    tag += severity_name(s);
    tag += ']';
    tag.resize(10, ' ');
    return tag;
}

void jfield(std::ostream& out, const char* name, const std::string& value, bool comma = true) {
    json::string(out, name);
    out << ':';
    json::string(out, value);
    if (comma) out << ',';
}
}  // namespace

void render_text(std::ostream& out, const std::vector<NamespaceReport>& reports, bool details_for_ok) {
    for (const auto& r : reports) {
        size_t counts[4] = {};
        for (const auto& f : r.findings) ++counts[static_cast<int>(f.severity)];
        // Namespace names, process names and conf lines come from outside:
        // text() escapes them as trace and stats do (render/escape.hpp).
        out << "== network namespace " << text(r.name) << " (inode " << r.inode << ", " << r.source
            << "): " << counts[3] << " problem, " << counts[2] << " warn, " << counts[1] << " info, " << counts[0]
            << " ok\n";
        for (const Finding* f : worst_first(r.findings)) {
            out << severity_column(f->severity) << f->check << ": " << text(f->summary) << "\n";
            if (f->severity == Severity::Ok && !details_for_ok) continue;
            if (!f->evidence.empty()) {
                out << "          evidence:";
                for (const auto& e : f->evidence) out << " " << text(e.name) << "=" << text(e.value) << ";";
                out << "\n";
            }
            if (!f->kernel.empty()) out << "          kernel: " << text(f->kernel) << "\n";
            if (!f->advice.empty()) out << "          do: " << text(f->advice) << "\n";
        }
        out << "\n";
    }
}

void render_json(std::ostream& out, const std::vector<NamespaceReport>& reports) {
    Severity worst = Severity::Ok;
    out << "{\"namespaces\":[";
    for (size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        out << (i ? "," : "") << "{\"inode\":" << r.inode << ',';
        jfield(out, "name", r.name);
        jfield(out, "path", r.path);
        jfield(out, "source", r.source);
        out << "\"findings\":[";
        for (size_t j = 0; j < r.findings.size(); ++j) {
            const auto& f = r.findings[j];
            worst = std::max(worst, f.severity);
            out << (j ? "," : "") << '{';
            jfield(out, "severity", std::string(severity_name(f.severity)));
            jfield(out, "check", f.check);
            jfield(out, "summary", f.summary);
            out << "\"evidence\":{";
            for (size_t k = 0; k < f.evidence.size(); ++k) {
                if (k) out << ',';
                jevidence(out, f.evidence[k]);
            }
            out << "},";
            jfield(out, "kernel", f.kernel);
            jfield(out, "advice", f.advice, false);
            out << '}';
        }
        out << "]}";
    }
    out << "],";
    jfield(out, "worst", std::string(severity_name(worst)), false);
    out << "}\n";
}

void render_conf_text(std::ostream& out, const std::vector<ConfFileReport>& files) {
    for (const auto& file : files) {
        const std::string path = text(file.path);
        out << "== " << path << "\n";
        for (const auto& v : file.lines) {
            std::string_view line = v.line.text;
            size_t a = line.find_first_not_of(" \t");
            line.remove_prefix(a == std::string::npos ? line.size() : a);
            out << severity_column(v.worst()) << path << ":" << v.line.number << ": " << text(line) << "\n";
            for (const auto& ans : v.answers)
                out << "          " << answer_kind_name(ans.kind) << ": " << text(ans.text) << "\n";
        }
    }
}

void render_conf_json(std::ostream& out, const std::vector<ConfFileReport>& files) {
    Severity worst = Severity::Ok;
    out << "{\"files\":[";
    for (size_t i = 0; i < files.size(); ++i) {
        out << (i ? "," : "") << '{';
        jfield(out, "path", files[i].path);
        out << "\"lines\":[";
        for (size_t j = 0; j < files[i].lines.size(); ++j) {
            const auto& v = files[i].lines[j];
            worst = std::max(worst, v.worst());
            out << (j ? "," : "") << "{\"line\":" << v.line.number << ',';
            jfield(out, "text", v.line.text);
            jfield(out, "key", v.line.key);
            jfield(out, "value", v.line.value);
            jfield(out, "severity", std::string(severity_name(v.worst())));
            out << "\"answers\":[";
            for (size_t k = 0; k < v.answers.size(); ++k) {
                out << (k ? "," : "") << '{';
                jfield(out, "kind", std::string(answer_kind_name(v.answers[k].kind)));
                jfield(out, "severity", std::string(severity_name(v.answers[k].severity)));
                jfield(out, "text", v.answers[k].text, false);
                out << '}';
            }
            out << "]}";
        }
        out << "]}";
    }
    out << "],";
    jfield(out, "worst", std::string(severity_name(worst)), false);
    out << "}\n";
}

}  // namespace tcplinger::doctor
