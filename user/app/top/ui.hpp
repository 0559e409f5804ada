// tcplinger top: what the keys change (view, sort, filter, pause,
// interval, grouping), apart from ncurses so that it is tested as text.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "app/top/table.hpp"

namespace tcplinger::top {

// Keys that are not characters, as the screen passes them on.
inline constexpr int kKeyResize = -2;
inline constexpr int kKeyBackspace = 127;
inline constexpr int kKeyEscape = 27;
inline constexpr int kKeyEnter = '\n';
inline constexpr int kKeyLeft = -3, kKeyRight = -4;

// Intervals + and - step through (seconds).
inline constexpr std::array<double, 8> kIntervals = {0.5, 1, 2, 3, 5, 10, 30, 60};

struct SortChoice {
    size_t column = 0;
    bool descending = true;
    bool chosen = false;  // false: the view's default column
};

struct UiState {
    View view = View::Processes;
    std::array<SortChoice, 3> sort{};  // per view
    std::string filter;
    bool paused = false;
    bool by_comm = false;
    bool help = false;
    double interval_s = 1;
    enum class Prompt { None, Filter, Interval } prompt = Prompt::None;
    std::string typed;    // the prompt's text so far
    std::string message;  // one line shown under the header until the next key
    bool quit = false;
    bool redraw = false;   // the frame must be drawn again (same figures)
    bool refresh = false;  // the figures must be remade now (grouping changed)
};

// Applies one key. `current` is the current view's table (its columns and
// default sort, for 1-9, < > and r).
void handle_key(UiState& s, int key, const Table& current);
// The sort column of the current view (its default unless chosen).
SortChoice sort_of(const UiState& s, const Table& t);
// The current view's table as shown: sorted and filtered.
Table shown_table(const Frame& f, const UiState& s, const CgroupNamer& cgroup_name);
// "[processes] destinations local-ports  sort TW/s v  filter 'x'  PAUSED"
std::string status_line(const UiState& s, const Table& t);
// The keys; the sort keys 1-9 with the columns of the current view.
std::vector<std::string> help_lines(const Table& current);

}  // namespace tcplinger::top
