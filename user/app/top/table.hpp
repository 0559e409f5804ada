// tcplinger top: a Frame's views as tables of text cells with sort keys,
// sorted, filtered and fitted to a width. Shared by the screen and batch
// mode; pure.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/top/model.hpp"

namespace tcplinger::top {

enum class View { Processes, Destinations, LocalPorts };
inline constexpr View kViews[] = {View::Processes, View::Destinations, View::LocalPorts};
const char* view_name(View v);  // "processes", "destinations", "local ports"

struct Column {
    std::string name;
    int width = 0;      // at least this wide; the last column of a line takes what is left
    bool left = false;  // text: left-aligned
    // Columns are dropped, highest first, while the line does not fit the
    // terminal; 0 is never dropped.
    int drop = 0;
};

struct Cell {
    std::string text;
    std::optional<double> number;  // sort key; text sorts when absent
};

struct Table {
    View view = View::Processes;
    std::vector<Column> columns;
    std::vector<std::vector<Cell>> rows;
    size_t default_sort = 0;
};

// id -> "unit" (cgroup label) or path; may be empty.
using CgroupNamer = std::function<std::string(uint64_t)>;
Table table_of(const Frame& f, View v, const CgroupNamer& cgroup_name = {});

// Rows by column `col`: numbers largest first (descending) or smallest
// first; text A to Z (descending false) or Z to A. Ties keep the first
// column's order, so the result does not depend on the input order.
void sort_rows(Table& t, size_t col, bool descending);
// Only rows whose cells, joined by spaces, contain `needle` (case-insensitive).
void filter_rows(Table& t, const std::string& needle);
// The columns that fit `width` (all when width <= 0), in table order.
std::vector<size_t> visible_columns(const Table& t, int width);
// One line: the column headings (sort column marked with '*' when given)
// or one row, at most `width` characters (no limit when width <= 0).
std::string heading_line(const Table& t, const std::vector<size_t>& cols, int width,
                         std::optional<size_t> sort_col = std::nullopt);
std::string row_line(const Table& t, size_t row, const std::vector<size_t>& cols, int width);

// The header lines (like top's first lines), each at most `width`.
std::vector<std::string> header_lines(const Frame& f, const std::string& scope, int width);

// "0.0", "12.5", "1234"; ages "850ms", "12.3s", "5.0m", "2.1h"; "never".
std::string rate_text(double per_s);
std::string age_text(uint64_t ns);
std::string seconds_text(double s);

}  // namespace tcplinger::top
