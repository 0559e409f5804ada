// Wires the command line to the core library; nothing else lives here.
#include <signal.h>

#include "cli/options.hpp"
#include "render/output.hpp"

int main(int argc, char** argv) {
    // A closed pipe must come back as EPIPE, not kill the process: the
    // tracer then detaches its programs and exits 0 (render/output.hpp).
    signal(SIGPIPE, SIG_IGN);
    try {
        return tcplinger::run_cli(argc, argv);
    } catch (const tcplinger::OutputClosed&) {
        return 0;  // `tcplinger trace | head`: the reader has what it wanted
    }
}
