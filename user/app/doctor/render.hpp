// doctor's output: text (default) and one JSON document (-j), from the
// same findings.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "app/doctor/conf.hpp"
#include "app/doctor/findings.hpp"

namespace tcplinger::doctor {

struct NamespaceReport {
    uint32_t inode = 0;
    std::string name, path;
    std::string source;  // "live", "observed 10 s", "recording FILE"
    std::vector<Finding> findings;
};

// Text: one line per finding, worst first; with details (evidence, what the
// kernel does, what to do) for everything that is not ok, or for all.
void render_text(std::ostream& out, const std::vector<NamespaceReport>& reports, bool details_for_ok);
void render_json(std::ostream& out, const std::vector<NamespaceReport>& reports);

struct ConfFileReport {
    std::string path;
    std::vector<LineVerdict> lines;
};
void render_conf_text(std::ostream& out, const std::vector<ConfFileReport>& files);
void render_conf_json(std::ostream& out, const std::vector<ConfFileReport>& files);

}  // namespace tcplinger::doctor
