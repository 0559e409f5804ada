// tcplinger top's full screen (ncurses). Draws a Frame as the UiState
// says, and reads keys without waiting. The terminal is restored when the
// Screen is destroyed: on quit, on SIGINT/SIGTERM (the live loop ends and
// unwinds) and on errors (exceptions unwind through it).
#pragma once
#include <string>

#include "app/top/ui.hpp"

namespace tcplinger::top {

class Screen {
public:
    // Throws FatalError when the terminal cannot be driven (TERM unknown).
    Screen();
    ~Screen();
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;

    void draw(const Frame& f, const UiState& s, const std::string& scope, const CgroupNamer& cgroup_name);
    // The next key (ui.hpp codes: kKeyResize, kKeyLeft...), or -1 if none.
    int key();

private:
    bool color_ = false;
};

}  // namespace tcplinger::top
