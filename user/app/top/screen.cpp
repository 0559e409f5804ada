#include "app/top/screen.hpp"

#include <curses.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/error.hpp"

namespace tcplinger::top {

namespace {
SCREEN* g_screen = nullptr;

void put_line(int y, const std::string& text, attr_t attr = A_NORMAL) {
    if (y >= LINES) return;
    attron(attr);
    mvaddnstr(y, 0, text.c_str(), COLS);
    // Reverse video spans the whole line, as top's column heading does.
    if (attr & A_REVERSE)
        for (int x = static_cast<int>(text.size()); x < COLS; ++x) mvaddch(y, x, ' ');
    attroff(attr);
}
}  // namespace

Screen::Screen() {
    // newterm, not initscr: initscr exits the process when the terminal is
    // unknown, and we must be able to say what to do instead.
    g_screen = newterm(nullptr, stdout, stdin);
    if (!g_screen) {
        const char* term = std::getenv("TERM");
        throw FatalError(std::string("failed to start the screen: terminal type '") + (term ? term : "") +
                         "' unknown: set TERM, or use batch mode (-b) or -j");
    }
    cbreak();  // keys at once; Ctrl-C still signals (ISIG stays on)
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    curs_set(0);
    // https://no-color.org: a NO_COLOR that is set and not empty means none.
    const char* no_color = std::getenv("NO_COLOR");
    if (!(no_color && *no_color) && has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_CYAN, -1);
        color_ = true;
    }
}

Screen::~Screen() {
    endwin();
    if (g_screen) delscreen(g_screen);
    g_screen = nullptr;
}

int Screen::key() {
    int c = getch();
    switch (c) {
        case ERR:
            return -1;
        case KEY_RESIZE:
            return kKeyResize;
        case KEY_BACKSPACE:
            return kKeyBackspace;
        case KEY_ENTER:
            return kKeyEnter;
        case KEY_LEFT:
            return kKeyLeft;
        case KEY_RIGHT:
            return kKeyRight;
        case KEY_BTAB:
            return '\t';
    }
    return c >= 0 && c < 256 ? c : -1;
}

void Screen::draw(const Frame& f, const UiState& s, const std::string& scope, const CgroupNamer& cgroup_name) {
    erase();
    int y = 0;
    for (const std::string& l : header_lines(f, scope, COLS)) {
        attr_t attr = y == 0 ? A_BOLD : A_NORMAL;
        put_line(y++, l, attr);
    }
    Table t = shown_table(f, s, cgroup_name);
    put_line(y++, status_line(s, t), color_ ? COLOR_PAIR(1) : A_BOLD);
    if (s.help) {
        for (const std::string& l : help_lines(t)) put_line(y++, l);
    } else {
        auto cols = visible_columns(t, COLS);
        put_line(y++, heading_line(t, cols, COLS, sort_of(s, t).column), A_REVERSE);
        for (size_t i = 0; i < t.rows.size() && y < LINES; ++i) put_line(y++, row_line(t, i, cols, COLS));
    }
    refresh();
}

}  // namespace tcplinger::top
