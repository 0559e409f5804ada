#include "app/top/ui.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/options.hpp"

namespace tcplinger::top {

namespace {
size_t index_of(View v) { return static_cast<size_t>(v); }

void finish_prompt(UiState& s) {
    if (s.prompt == UiState::Prompt::Filter) {
        s.filter = s.typed;
    } else if (s.prompt == UiState::Prompt::Interval) {
        char* end = nullptr;
        double v = std::strtod(s.typed.c_str(), &end);
        if (end && *end == 0 && !s.typed.empty() && std::isfinite(v) && v >= 0.1 && v <= kMaxSeconds)
            s.interval_s = v;
        else
            s.message = "not an interval: '" + s.typed + "' (give seconds, at least 0.1)";
    }
    s.prompt = UiState::Prompt::None;
    s.typed.clear();
}

void step_interval(UiState& s, int dir) {
    if (dir > 0) {
        auto it = std::upper_bound(kIntervals.begin(), kIntervals.end(), s.interval_s);
        if (it != kIntervals.end()) s.interval_s = *it;
    } else {
        auto it = std::lower_bound(kIntervals.begin(), kIntervals.end(), s.interval_s);
        if (it != kIntervals.begin()) s.interval_s = *std::prev(it);
    }
}
}  // namespace

SortChoice sort_of(const UiState& s, const Table& t) {
    SortChoice c = s.sort[index_of(t.view)];
    if (!c.chosen) return {t.default_sort, true, false};
    return c;
}

void handle_key(UiState& s, int key, const Table& current) {
    const std::vector<Column>& columns = current.columns;
    s.redraw = true;
    s.message.clear();
    if (key == kKeyResize) return;
    if (s.prompt != UiState::Prompt::None) {
        if (key == kKeyEnter || key == '\r')
            finish_prompt(s);
        else if (key == kKeyEscape) {
            s.prompt = UiState::Prompt::None;
            s.typed.clear();
        } else if (key == kKeyBackspace || key == 8) {
            if (!s.typed.empty()) s.typed.pop_back();
        } else if (key >= 0x20 && key < 0x7f) {
            s.typed.push_back(static_cast<char>(key));
        }
        return;
    }
    if (s.help && key != '?') {
        s.help = false;  // any key leaves the help
        if (key != 'q') return;
    }
    SortChoice& sort = s.sort[index_of(s.view)];
    auto move_sort = [&](int dir) {
        if (columns.empty()) return;
        if (!sort.chosen) sort = {current.default_sort, true, true};
        long n = static_cast<long>(columns.size());
        sort.column = static_cast<size_t>(((static_cast<long>(sort.column) + dir) % n + n) % n);
    };
    switch (key) {
        case 'q':
            s.quit = true;
            break;
        case 'p':
            s.view = View::Processes;
            break;
        case 'd':
            s.view = View::Destinations;
            break;
        case 'l':
            s.view = View::LocalPorts;
            break;
        case '\t':
            s.view = kViews[(index_of(s.view) + 1) % std::size(kViews)];
            break;
        case '<':
        case kKeyLeft:
            move_sort(-1);
            break;
        case '>':
        case kKeyRight:
            move_sort(+1);
            break;
        case 'r':
            if (!sort.chosen) sort = {current.default_sort, true, true};
            sort.descending = !sort.descending;
            break;
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9': {
            // The Nth column of the view (help lists them); the same key
            // again reverses. Figures start largest first, text A to Z.
            size_t col = static_cast<size_t>(key - '1');
            if (col >= columns.size()) {
                // Appended: GCC 12 -Wrestrict misfires on "literal" + string&& at -O3.
                s.message = "no column ";
                s.message += std::to_string(col + 1);
                s.message += " in this view (? lists them)";
                break;
            }
            SortChoice now = sort_of(s, current);
            if (now.column == col)
                sort = {col, !now.descending, true};
            else
                sort = {col, !columns[col].left, true};
            break;
        }
        case '/':
            s.prompt = UiState::Prompt::Filter;
            s.typed = s.filter;
            break;
        case ' ':
            s.paused = !s.paused;
            break;
        case '+':
            step_interval(s, +1);
            break;
        case '-':
            step_interval(s, -1);
            break;
        case 's':
            s.prompt = UiState::Prompt::Interval;
            s.typed.clear();
            break;
        case 'c':
            s.by_comm = !s.by_comm;
            s.refresh = true;
            break;
        case '?':
        case 'h':
            s.help = !s.help;
            break;
        default:
            s.redraw = false;
    }
}

Table shown_table(const Frame& f, const UiState& s, const CgroupNamer& cgroup_name) {
    Table t = table_of(f, s.view, cgroup_name);
    SortChoice c = sort_of(s, t);
    if (c.chosen) sort_rows(t, c.column, c.descending);
    filter_rows(t, s.filter);
    return t;
}

std::string status_line(const UiState& s, const Table& t) {
    std::string out;
    for (View v : kViews) {
        std::string name = view_name(v);
        std::replace(name.begin(), name.end(), ' ', '-');
        out += v == s.view ? "[" + name + "] " : name + " ";
    }
    SortChoice c = sort_of(s, t);
    out += " sort " + t.columns[c.column].name + (c.descending ? " v" : " ^");
    if (s.by_comm) out += "  by comm";
    if (!s.filter.empty()) out += "  filter '" + s.filter + "'";
    if (s.paused) out += "  PAUSED";
    if (s.prompt == UiState::Prompt::Filter) return "filter (Enter applies, Esc cancels): " + s.typed;
    if (s.prompt == UiState::Prompt::Interval) return "interval in seconds (Enter applies, Esc cancels): " + s.typed;
    if (!s.message.empty()) return s.message;
    return out + "  1-9 sort  ? help";
}

std::vector<std::string> help_lines(const Table& current) {
    std::string keys = "      ";
    for (size_t i = 0; i < current.columns.size() && i < 9; ++i) {
        keys += ' ';
        keys += std::to_string(i + 1);
        keys += ' ';
        keys += current.columns[i].name;
    }
    return {
        "tcplinger top keys",
        "",
        "  p d l      processes, destinations, local ports view (Tab: next view)",
        "  1-9        sort by that column (again: reverse); < > move it, r reverses",
        keys,
        "  /          filter: only rows containing the text (Enter; empty clears)",
        "  space      pause (tracing goes on; rates cover the paused time)",
        "  + - s      longer, shorter interval; s types one in seconds",
        "  c          processes: one row per command name (workers summed)",
        "  q          quit",
        "",
        "Columns: TW, CW, FW2 = sockets in TIME-WAIT, CLOSE-WAIT, FIN-WAIT-2 now;",
        "TW/s = entered TIME-WAIT per second; CW-AGE = oldest CLOSE-WAIT; ABRT/s =",
        "aborted closes per second; CONN/s = connections that ended per second;",
        "INUSE = local ports held toward the destination; HEADROOM = connect()",
        "calls that can still get a port; EXHAUST = time until HEADROOM is 0 at",
        "the current rate; REUSE = whether tcp_tw_reuse lets connect() take over",
        "a TIME-WAIT. Any key leaves this help.",
    };
}

}  // namespace tcplinger::top
