// The tcplinger binary run as a user runs it, for the recording tests:
// scratch directories, the binary with its output in files (it may be
// killed), and paced connection churn.
#pragma once
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

namespace tltest {

struct Scratch {
    std::string path;
    Scratch() {
        char tmpl[] = "/tmp/tl-krec-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

inline std::string slurp_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The binary with stdout and stderr in files (it may be killed).
struct Proc {
    pid_t pid = -1;
    std::string out, err;
};
inline Proc launch(const std::vector<std::string>& args, const std::string& dir, const std::string& tag) {
    Proc p;
    p.out = dir + "/" + tag + ".out";
    p.err = dir + "/" + tag + ".err";
    std::fflush(nullptr);
    p.pid = fork();
    if (p.pid == 0) {
        int o = open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return p;
}
inline int wait_exit(const Proc& p) {
    int st = 0;
    waitpid(p.pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
struct Output {
    int code;
    std::string out, err;
};
inline Output run_binary(const std::vector<std::string>& args, const std::string& dir) {
    static int n = 0;
    Proc p = launch(args, dir, "run" + std::to_string(n++));
    int code = wait_exit(p);
    return Output{code, slurp_file(p.out), slurp_file(p.err)};
}

// Connections paced over `seconds`, to `ports` listeners: three in four
// closed by the client first (client TIME-WAIT), one in four by the server
// (server TIME-WAIT, client CLOSE-WAIT). Returns failed connects.
inline int churn(int family, uint16_t base_port, int ports, size_t n, double seconds) {
    std::vector<int> listeners;
    for (int p = 0; p < ports; ++p) listeners.push_back(tcp_listen(family, static_cast<uint16_t>(base_port + p), 512));
    uint64_t start = now_ns();
    int failed = 0;
    for (size_t i = 0; i < n; ++i) {
        sleep_until_ns(start + static_cast<uint64_t>(seconds * 1e9 * static_cast<double>(i) / static_cast<double>(n)));
        size_t which = i % listeners.size();
        int c = tcp_connect(family, static_cast<uint16_t>(base_port + which));
        if (c < 0) {
            ++failed;
            continue;
        }
        int a = tcp_accept(listeners[which]);
        if (i % 4 == 3) {
            close(a);
            read_until_eof(c);
            close(c);
        } else {
            close(c);
            read_until_eof(a);
            close(a);
        }
    }
    for (int l : listeners) close(l);
    return failed;
}

}  // namespace tltest
