// tcplinger top without a screen: batch text (as top -b) and one JSON
// document per refresh. Both format the same Frame the screen shows.
#pragma once
#include <ostream>
#include <string>

#include "app/top/table.hpp"

namespace tcplinger::top {

// The header lines, then each view's table, every row, full width.
void render_batch(std::ostream& out, const Frame& f, const std::string& scope, const CgroupNamer& cgroup_name);
// One JSON object on one line, "ts" first (ISO 8601, UTC).
void render_json(std::ostream& out, const Frame& f, const CgroupNamer& cgroup_name);

}  // namespace tcplinger::top
