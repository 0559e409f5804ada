// Wires the command line to the core library; nothing else lives here.
#include "cli/options.hpp"

int main(int argc, char** argv) { return tcplinger::run_cli(argc, argv); }
