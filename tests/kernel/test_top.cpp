// tcplinger top in a real terminal (tmux), its batch and JSON modes checked
// against stats over the same run, and stats --by comm / --by raddr with
// real forked workers. Each test has its own namespace; the binary is run as
// a user runs it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "capture/live.hpp"
#include "harness.hpp"
#include "lifecycle_util.hpp"
#include "record_proc.hpp"

using namespace tltest;

namespace {

void set_comm(const char* name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

// A tmux server of our own (-L), so that no other tmux is touched.
struct Tmux {
    std::string socket = "tlt-top-" + std::to_string(getpid());
    explicit Tmux(const std::string& command) { run("new-session -d -x 80 -y 24 -s top " + quote(command)); }
    ~Tmux() { run("kill-server"); }
    static std::string quote(const std::string& s) {
        std::string out = "'";
        for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    }
    int run(const std::string& args) const {
        return std::system(("tmux -L " + socket + " " + args + " >/dev/null 2>&1").c_str());
    }
    std::string capture() const {
        std::string cmd = "tmux -L " + socket + " capture-pane -p -t top";
        FILE* p = popen(cmd.c_str(), "r");
        if (!p) return "";
        std::string out;
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
        pclose(p);
        return out;
    }
    void keys(const std::string& k) const { run("send-keys -t top " + k); }
    // Polls the pane until pred holds, at most seconds; the last capture in *screen.
    bool wait(const std::function<bool(const std::string&)>& pred, double seconds, std::string* screen) const {
        uint64_t end = now_ns() + static_cast<uint64_t>(seconds * 1e9);
        do {
            *screen = capture();
            if (pred(*screen)) return true;
            sleep_ms(50);
        } while (now_ns() < end);
        return false;
    }
};

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// The first table row under the heading that starts with `heading`
// (a sort mark may follow the name), "" when there is none.
std::string first_row(const std::string& screen, const std::string& heading) {
    auto lines = lines_of(screen);
    for (size_t i = 0; i + 1 < lines.size(); ++i)
        if (lines[i].rfind(heading, 0) == 0) return lines[i + 1];
    return "";
}

std::string header_time(const std::string& screen) {
    auto lines = lines_of(screen);
    return !lines.empty() && lines[0].rfind("tcplinger top - ", 0) == 0 ? lines[0] : "";
}

// Client-first connections to its own listener on `port`, one every
// `gap_ms`, until killed (trickle) or n of them (storm).
pid_t clients(const Netns& ns, const char* comm, uint16_t port, int n, int gap_ms, Gate* go = nullptr) {
    return spawn_in(ns, [=] {
        set_comm(comm);
        int l = tcp_listen(AF_INET, port, 1024);
        if (go) go->wait();
        for (int i = 0; n == 0 || i < n; ++i) {
            connect_close_client_first(l, AF_INET, port, 1);
            if (gap_ms) sleep_ms(gap_ms);
        }
        return 0;
    });
}

// Kills and reaps the workload's children however the test ends (an
// ASSERT returns early; trickles never end by themselves).
struct Children {
    std::vector<pid_t> pids;
    ~Children() {
        for (pid_t p : pids) kill(p, SIGKILL);
        for (pid_t p : pids) reap(p);
    }
};

nlohmann::json last_json_line(const std::string& text) {
    auto lines = lines_of(text);
    EXPECT_FALSE(lines.empty());
    return lines.empty() ? nlohmann::json() : nlohmann::json::parse(lines.back());
}

}  // namespace

// One process storms (many client-first closes toward one destination),
// two trickle. Within two refreshes the storm leads the process view and
// its destination the destination view; sort keys reorder; q quits with
// exit 0 and the alternate screen gone.
TEST(TopScreen, StormLeadsWithinTwoRefreshesSortKeysWorkAndQuitRestoresTheTerminal) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    Scratch dir;
    const std::string err = dir.path + "/top.err";
    Tmux tmux(std::string(TL_BINARY) + " top -d 1 --netns " + std::to_string(ns.inode()) + " 2>" + err +
              "; echo TOP-EXIT=$?; sleep 60");
    ASSERT_TRUE(wait_for_tracing_file(err, 30)) << slurp_file(err);
    std::string screen;
    ASSERT_TRUE(tmux.wait([](const std::string& s) { return !header_time(s).empty(); }, 10, &screen)) << screen;

    Children kids;
    kids.pids.push_back(clients(ns, "tltrickle1", 7401, 0, 300));
    kids.pids.push_back(clients(ns, "tltrickle2", 7402, 0, 300));
    // Both trickles on screen first, so that the storm must overtake them.
    ASSERT_TRUE(tmux.wait(
        [](const std::string& s) {
            return s.find("tltrickle1") != std::string::npos && s.find("tltrickle2") != std::string::npos;
        },
        10, &screen))
        << screen;
    // Named to sort last by name: it must lead by its rate, not by a tie.
    kids.pids.push_back(clients(ns, "tlzstorm", 7400, 0, 1));

    // Two refreshes after the storm began (the header's clock changes at each).
    std::string seen = header_time(screen);
    int refreshes = 0;
    bool leads = false;
    while (refreshes < 2) {
        // Generous: a loaded CI machine delays the refresh, never its content.
        ASSERT_TRUE(tmux.wait([&](const std::string& s) { return !header_time(s).empty() && header_time(s) != seen; },
                              15, &screen))
            << screen;
        seen = header_time(screen);
        ++refreshes;
        leads = first_row(screen, "COMM").rfind("tlzstorm ", 0) == 0;
    }
    EXPECT_TRUE(leads) << "after two refreshes:\n" << screen;
    EXPECT_NE(screen.find("*TW/s"), std::string::npos) << "the sort column is marked\n" << screen;
    for (const auto& l : lines_of(screen)) EXPECT_LE(l.size(), 80u);

    tmux.keys("d");
    EXPECT_TRUE(tmux.wait(
        [](const std::string& s) { return first_row(s, "DESTINATION").rfind("127.0.0.1:7400 ", 0) == 0; }, 3, &screen))
        << screen;

    // Back to processes; sort by COMM (three columns left of TW/s), Z to A,
    // then A to Z.
    tmux.keys("p");
    tmux.keys("'<' '<' '<'");
    EXPECT_TRUE(tmux.wait(
        [](const std::string& s) {
            return s.find("COMM*") != std::string::npos && first_row(s, "COMM").rfind("tlzstorm ", 0) == 0;
        },
        3, &screen))
        << screen;
    tmux.keys("r");
    EXPECT_TRUE(tmux.wait(
        [](const std::string& s) {
            return s.find("sort COMM ^") != std::string::npos && first_row(s, "COMM").rfind("tltrickle1 ", 0) == 0;
        },
        3, &screen))
        << screen;
    // By TW now (one column right of COMM... two: PID, TW), largest first.
    tmux.keys("'>' '>' r");
    EXPECT_TRUE(tmux.wait(
        [](const std::string& s) {
            return s.find("sort TW v") != std::string::npos && first_row(s, "COMM").rfind("tlzstorm ", 0) == 0;
        },
        3, &screen))
        << screen;
    // A key per column (1-9, as ? lists them), in every view: text A to Z
    // first, the same key again Z to A, figures largest first.
    tmux.keys("?");
    EXPECT_TRUE(tmux.wait([](const std::string& s) { return s.find("1 COMM 2 PID 3 TW 4 TW/s") != std::string::npos; },
                          3, &screen))
        << screen;
    for (const auto& l : lines_of(screen)) EXPECT_LE(l.size(), 80u);
    EXPECT_LE(lines_of(screen).size(), 24u);
    // key(s), then the status line's sort, the heading, the first row.
    const std::vector<std::array<std::string, 4>> sorts = {
        {"Escape 1", "sort COMM ^", "COMM", "tltrickle1 "},
        {"1", "sort COMM v", "COMM", "tlzstorm "},
        {"4", "sort TW/s v", "COMM", "tlzstorm "},
        {"d 1", "sort DESTINATION ^", "DESTINATION", "127.0.0.1:7400 "},
        {"1", "sort DESTINATION v", "DESTINATION", "127.0.0.1:7402 "},
        {"3", "sort TW v", "DESTINATION", "127.0.0.1:7400 "},
    };
    for (const auto& [keys, status, heading, first] : sorts) {
        tmux.keys(keys);
        EXPECT_TRUE(tmux.wait(
            [&, status = status, heading = heading, first = first](const std::string& s) {
                return s.find(status) != std::string::npos && first_row(s, heading).rfind(first, 0) == 0;
            },
            3, &screen))
            << keys << ": " << status << "\n"
            << screen;
    }
    tmux.keys("l 4");
    EXPECT_TRUE(
        tmux.wait([](const std::string& s) { return s.find("sort CONN/s v") != std::string::npos; }, 3, &screen))
        << screen;
    tmux.keys("p");

    // The filter keeps only matching rows.
    tmux.keys("/ t r i c k l e 2 Enter");
    EXPECT_TRUE(tmux.wait(
        [](const std::string& s) {
            return first_row(s, "COMM").rfind("tltrickle2 ", 0) == 0 && s.find("tlzstorm") == std::string::npos;
        },
        3, &screen))
        << screen;

    tmux.keys("q");
    EXPECT_TRUE(tmux.wait([](const std::string& s) { return s.find("TOP-EXIT=") != std::string::npos; }, 10, &screen))
        << screen;
    EXPECT_NE(screen.find("TOP-EXIT=0"), std::string::npos) << screen;
    EXPECT_EQ(screen.find("tcplinger top - "), std::string::npos) << "the alternate screen is left:\n" << screen;
    EXPECT_EQ(screen.find("COMM"), std::string::npos) << screen;
}

// A resize (SIGWINCH) redraws to fit; SIGTERM while the screen is up: exit 0
// and the terminal restored too.
TEST(TopScreen, ResizeFitsAndSigtermRestoresTheTerminal) {
    Netns ns;
    Scratch dir;
    const std::string err = dir.path + "/top.err";
    const std::string pidfile = dir.path + "/top.pid";
    Tmux tmux("sh -c 'echo $$ > " + pidfile + "; exec " + TL_BINARY + " top --netns " + std::to_string(ns.inode()) +
              " 2>" + err + "'; echo TOP-EXIT=$?; sleep 60");
    ASSERT_TRUE(wait_for_tracing_file(err, 30)) << slurp_file(err);
    std::string screen;
    ASSERT_TRUE(tmux.wait([](const std::string& s) { return !header_time(s).empty(); }, 10, &screen)) << screen;
    // SIGWINCH: narrower, the screen is redrawn to fit, dropping columns.
    tmux.run("resize-window -t top -x 50 -y 12");
    EXPECT_TRUE(tmux.wait(
        [](const std::string& s) {
            std::string heading;
            for (const auto& l : lines_of(s))
                if (l.rfind("COMM", 0) == 0) heading = l;
            bool fits = true;
            for (const auto& l : lines_of(s)) fits &= l.size() <= 50;
            return fits && !heading.empty() && heading.find("CGROUP") == std::string::npos &&
                   heading.find("TW/s") != std::string::npos;
        },
        5, &screen))
        << screen;
    pid_t pid = std::stoi(slurp_file(pidfile));
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    EXPECT_TRUE(tmux.wait([](const std::string& s) { return s.find("TOP-EXIT=") != std::string::npos; }, 10, &screen))
        << screen;
    EXPECT_NE(screen.find("TOP-EXIT=0"), std::string::npos) << screen;
    EXPECT_EQ(screen.find("tcplinger top - "), std::string::npos) << screen;
}

// top -b -n 3 -d 1 and top -j -n 3 over a known workload, next to stats -j
// --by comm over the same run: the same TIME-WAIT count per comm.
TEST(TopBatch, BatchAndJsonAgreeWithStatsPerComm) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");  // every TIME-WAIT stays for the whole run
    Scratch dir;
    const std::string netns = std::to_string(ns.inode());
    Proc stats = launch({TL_BINARY, "stats", "-j", "--by", "comm", "--netns", netns}, dir.path, "stats");
    ASSERT_TRUE(wait_for_tracing_file(stats.err, 30)) << slurp_file(stats.err);
    Proc json = launch({TL_BINARY, "top", "-j", "-n", "3", "-d", "1", "--by-comm", "--netns", netns}, dir.path, "json");
    Proc batch = launch({TL_BINARY, "top", "-b", "-n", "3", "-d", "1", "--netns", netns}, dir.path, "batch");
    ASSERT_TRUE(wait_for_tracing_file(json.err, 30)) << slurp_file(json.err);
    ASSERT_TRUE(wait_for_tracing_file(batch.err, 30)) << slurp_file(batch.err);

    // Two workers named tlworker (12 and 9 connections) and one tlother (7).
    Gate go[3];  // one byte each: a Gate lets one waiter through
    pid_t w1 = clients(ns, "tlworker", 7501, 12, 0, &go[0]);
    pid_t w2 = clients(ns, "tlworker", 7502, 9, 0, &go[1]);
    pid_t other = clients(ns, "tlother", 7503, 7, 0, &go[2]);
    for (Gate& g : go) g.open();
    for (pid_t p : {w1, w2, other}) ASSERT_EQ(reap(p), 0);

    EXPECT_EQ(wait_exit(json), 0) << slurp_file(json.err);
    EXPECT_EQ(wait_exit(batch), 0) << slurp_file(batch.err);
    kill(stats.pid, SIGINT);
    ASSERT_EQ(wait_exit(stats), 0) << slurp_file(stats.err);

    std::map<std::string, uint64_t> want;
    std::map<std::string, uint64_t> workers;
    auto st = nlohmann::json::parse(slurp_file(stats.out));
    for (const auto& g : st["groups"]) {
        if (g["comm"].is_null()) continue;
        uint64_t tw = g["states"]["TIME-WAIT"]["entered"].get<uint64_t>() +
                      g["states"]["TIME-WAIT"]["present_at_start"].get<uint64_t>();
        if (tw) want[g["comm"]] = tw;
        workers[g["comm"]] = g["workers"];
    }
    ASSERT_EQ(want, (std::map<std::string, uint64_t>{{"tlother", 7}, {"tlworker", 21}})) << slurp_file(stats.out);
    EXPECT_EQ(workers["tlworker"], 2u);

    // JSON: three documents, one per refresh, each with its time.
    std::string js = slurp_file(json.out);
    auto docs = lines_of(js);
    ASSERT_EQ(docs.size(), 3u) << js;
    std::map<std::string, uint64_t> got, got_workers;
    for (const auto& line : docs) {
        auto d = nlohmann::json::parse(line);
        EXPECT_TRUE(d["ts"].is_string());
        EXPECT_TRUE(d["by_comm"].get<bool>());
        EXPECT_EQ(d["header"]["lost"], 0);
    }
    auto last = last_json_line(js);
    for (const auto& p : last["processes"]) {
        if (p["comm"].is_null() || !p["time_wait_entered"].get<uint64_t>()) continue;
        got[p["comm"]] = p["time_wait_entered"];
        got_workers[p["comm"]] = p["workers"];
        EXPECT_EQ(p["time_wait"], p["time_wait_entered"]) << "all still in TIME-WAIT (tcp_tw_reuse=0)";
    }
    EXPECT_EQ(got, want) << js;
    EXPECT_EQ(got_workers["tlworker"], 2u);
    EXPECT_GE(last["header"]["time_wait"].get<uint64_t>(), 28u) << "sockstat sees them too";

    // Batch: three refreshes; the last one's TW column summed per comm.
    std::string text = slurp_file(batch.out);
    size_t refreshes = 0;
    for (size_t at = 0; (at = text.find("tcplinger top - ", at)) != std::string::npos; ++at) ++refreshes;
    EXPECT_EQ(refreshes, 3u) << text;
    std::string final_part = text.substr(text.rfind("tcplinger top - "));
    std::map<std::string, uint64_t> tw_now;
    bool in_table = false;
    for (const auto& l : lines_of(final_part)) {
        if (l.rfind("COMM", 0) == 0) {
            in_table = true;
            continue;
        }
        if (l.empty()) in_table = false;
        if (!in_table) continue;
        std::istringstream f(l);
        std::string comm, pid;
        uint64_t tw = 0;
        f >> comm >> pid >> tw;
        if (tw) tw_now[comm] += tw;
    }
    EXPECT_EQ(tw_now, want) << text;
}

// GET path from 127.0.0.1:port, the whole answer ("" if it cannot connect).
static std::string http_get(uint16_t port, const std::string& path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
        std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
        if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
            char buf[4096];
            for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
        }
    }
    close(fd);
    return out;
}

// The rule stats follows (Aggregator::report, stats/holders.hpp): a
// CLOSE-WAIT still open is charged to the process that holds the socket
// now, not to the accept() caller. An accept-then-fork server: the parent
// accepts, forks, closes its copy; the child holds the CLOSE-WAIT. top's
// process view and the exporter's tcplinger_sockets charge the child.
TEST(TopHolder, ForkedChildHoldingCloseWaitIsChargedInTopAndTheExporter) {
    Netns ns;
    Scratch dir;
    const std::string netns = std::to_string(ns.inode());
    const uint16_t http = static_cast<uint16_t>(20000 + getpid() % 20000);
    Proc top = launch({TL_BINARY, "top", "-j", "-d", "0.5", "--netns", netns}, dir.path, "top");
    std::string listen = "127.0.0.1:";
    listen += std::to_string(http);  // appended: GCC 12 -Wrestrict at -O3
    Proc exp = launch({TL_BINARY, "exporter", "--listen", listen, "--netns", netns}, dir.path, "exporter");
    Children tracers;  // killed if an ASSERT ends the test early
    tracers.pids = {top.pid, exp.pid};
    ASSERT_TRUE(wait_for_tracing_file(top.err, 30)) << slurp_file(top.err);
    ASSERT_TRUE(wait_for_tracing_file(exp.err, 30)) << slurp_file(exp.err);

    const uint16_t port = 7601;
    Pipe ready, child_pid;
    Gate release;
    pid_t parent = spawn_in(ns, [&] {
        set_comm("tlcwacceptor");
        int l = tcp_listen(AF_INET, port);
        ready.send<char>(1);
        int a = tcp_accept(l);
        pid_t c = fork();
        if (c == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // gone with the parent, however the test ends
            set_comm("tlcwholder");
            read_until_eof(a);  // the client's FIN: CLOSE-WAIT, held here
            ready.send<char>(2);
            release.wait();
            close(a);
            _exit(0);
        }
        close(a);  // the parent's copy: the child still holds the socket
        child_pid.send<pid_t>(c);
        return reap(c);
    });
    Children kids;
    kids.pids.push_back(parent);
    ASSERT_EQ(ready.receive<char>(), 1);
    pid_t client = spawn_in(ns, [&] {
        close(tcp_connect(AF_INET, port));
        return 0;
    });
    ASSERT_EQ(reap(client), 0);
    const pid_t child = child_pid.receive<pid_t>();
    ASSERT_EQ(ready.receive<char>(), 2);

    // top: two refreshes after the leak began (the holders are read at each).
    auto docs = [&] { return lines_of(slurp_file(top.out)).size(); };
    const size_t at_leak = docs();
    const uint64_t deadline = now_ns() + 15'000'000'000ull;
    while (docs() < at_leak + 3 && now_ns() < deadline) sleep_ms(50);
    auto doc = last_json_line(slurp_file(top.out));
    std::map<uint32_t, std::pair<std::string, uint64_t>> cw;  // pid -> (comm, CLOSE-WAIT now)
    for (const auto& p : doc["processes"])
        if (p["close_wait"].get<uint64_t>()) cw[p["pid"].get<uint32_t>()] = {p["comm"], p["close_wait"]};
    EXPECT_EQ(cw,
              (std::map<uint32_t, std::pair<std::string, uint64_t>>{{static_cast<uint32_t>(child), {"tlcwholder", 1}}}))
        << "parent " << parent << ", child " << child << "\n"
        << doc.dump();

    // The exporter: its host pass (holders) every 5 s, published every second.
    const std::string holder = "tcplinger_sockets{state=\"CLOSE-WAIT\",comm=\"tlcwholder\"";
    std::string body;
    const uint64_t scrape_deadline = now_ns() + 15'000'000'000ull;
    do {
        body = http_get(http, "/metrics");
        if (body.find(holder) != std::string::npos) break;
        sleep_ms(200);
    } while (now_ns() < scrape_deadline);
    size_t at = body.find(holder);
    ASSERT_NE(at, std::string::npos) << body;
    std::string line = body.substr(at, body.find('\n', at) - at);
    EXPECT_EQ(line.substr(line.rfind(' ') + 1), "1") << line;
    EXPECT_EQ(body.find("tcplinger_sockets{state=\"CLOSE-WAIT\",comm=\"tlcwacceptor\""), std::string::npos) << body;

    release.open();
    EXPECT_EQ(reap(parent), 0);
    kids.pids.clear();
    kill(top.pid, SIGINT);
    kill(exp.pid, SIGINT);
    EXPECT_EQ(wait_exit(top), 0) << slurp_file(top.err);
    EXPECT_EQ(wait_exit(exp), 0) << slurp_file(exp.err);
    tracers.pids.clear();
}

// stats --by comm sums pre-forked workers (one listen(), three processes
// accepting and closing first) and says how many; --by raddr folds the ports.
TEST(StatsGroupBy, CommSumsPreforkedWorkersAndRaddrFoldsPorts) {
    Netns ns;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "0");
    Scratch dir;
    const std::string netns = std::to_string(ns.inode());
    Proc comm = launch({TL_BINARY, "stats", "-j", "--by", "comm", "--netns", netns}, dir.path, "comm");
    Proc raddr = launch({TL_BINARY, "stats", "-j", "--by", "raddr", "--netns", netns}, dir.path, "raddr");
    Proc text = launch({TL_BINARY, "stats", "--by", "comm", "--netns", netns}, dir.path, "text");
    for (const Proc* p : {&comm, &raddr, &text}) ASSERT_TRUE(wait_for_tracing_file(p->err, 30)) << slurp_file(p->err);

    constexpr int kWorkers = 3, kEach = 4;
    // The client starts once the server listens: a connect() before that is
    // refused, and the workers would wait in accept() for ever.
    Gate listening;
    pid_t server = spawn_in(ns, [&] {
        set_comm("tlprefork");
        int l = tcp_listen(AF_INET, 7601);
        listening.open();
        std::vector<pid_t> kids;
        for (int w = 0; w < kWorkers; ++w) {
            pid_t k = fork();
            if (k == 0) {
                for (int i = 0; i < kEach; ++i) {
                    int a = tcp_accept(l);
                    close(a);  // the server closes first: its TIME-WAIT
                }
                _exit(0);
            }
            kids.push_back(k);
        }
        close(l);
        int bad = 0;
        for (pid_t k : kids) bad += reap(k) != 0;
        return bad;
    });
    pid_t client = spawn_in(ns, [&] {
        set_comm("tlpeer");
        listening.wait();
        for (int i = 0; i < kWorkers * kEach; ++i) {
            int c = tcp_connect(AF_INET, 7601);
            read_until_eof(c);
            close(c);
        }
        // Then client-first closes to two more ports of the same address.
        int a = tcp_listen(AF_INET, 7602), b = tcp_listen(AF_INET, 7603);
        connect_close_client_first(a, AF_INET, 7602, 5);
        connect_close_client_first(b, AF_INET, 7603, 2);
        return 0;
    });
    ASSERT_EQ(reap(client), 0);
    ASSERT_EQ(reap(server), 0);
    for (const Proc* p : {&comm, &raddr, &text}) kill(p->pid, SIGINT);
    for (const Proc* p : {&comm, &raddr, &text}) ASSERT_EQ(wait_exit(*p), 0) << slurp_file(p->err);

    auto by_comm = nlohmann::json::parse(slurp_file(comm.out));
    EXPECT_EQ(by_comm["by"], "comm");
    std::map<std::string, std::pair<uint64_t, uint64_t>> tw;  // comm -> (TIME-WAIT entered, workers)
    for (const auto& g : by_comm["groups"])
        if (!g["comm"].is_null())
            tw[g["comm"]] = {g["states"]["TIME-WAIT"]["entered"].get<uint64_t>(), g["workers"].get<uint64_t>()};
    EXPECT_EQ(tw["tlprefork"], std::make_pair(uint64_t{kWorkers * kEach}, uint64_t{kWorkers})) << slurp_file(comm.out);
    EXPECT_EQ(tw["tlpeer"].first, 7u) << "its own client-first closes";
    EXPECT_EQ(tw["tlpeer"].second, 1u);
    EXPECT_NE(slurp_file(text.out).find("\ntlprefork x3 "), std::string::npos) << slurp_file(text.out);

    auto by_raddr = nlohmann::json::parse(slurp_file(raddr.out));
    ASSERT_EQ(by_raddr["groups"].size(), 1u) << slurp_file(raddr.out);
    const auto& g = by_raddr["groups"][0];
    EXPECT_EQ(g["raddr"], "127.0.0.1");
    EXPECT_FALSE(g.contains("rport"));
    EXPECT_EQ(g["states"]["TIME-WAIT"]["entered"], kWorkers * kEach + 7) << "every port of 127.0.0.1 in one group";
}
