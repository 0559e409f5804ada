#include "app/host_poller.hpp"

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "host/clock.hpp"
#include "host/netns.hpp"
#include "record/host_facts.hpp"

namespace tcplinger {

namespace {
doctor::Sockstat read_sockstat(const std::string& netns_path) {
    doctor::Sockstat s;
    sys::run_in_netns(netns_path, [&] {
        std::ifstream in("/proc/thread-self/net/sockstat");
        std::stringstream text;
        text << in.rdbuf();
        s = doctor::parse_sockstat(text.str());
    });
    return s;
}
}  // namespace

HostPoller::HostPoller(Tracer& tracer, const HostPollerOptions& o) : tracer_(tracer), o_(o) {}

HostPoller::~HostPoller() { stop(); }

void HostPoller::start() {
    pass();
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tl-host-poll");  // its CPU apart in top -H, /proc/PID/task
        std::unique_lock<std::mutex> lock(mu_);
        while (!stop_) {
            auto wait = std::chrono::duration<double>(o_.interval_s);
            if (cv_.wait_for(lock, wait, [this] { return stop_ || rewait_; })) {
                if (stop_) break;
                rewait_ = false;  // a new interval: wait it from now
                continue;
            }
            lock.unlock();
            pass();
            lock.lock();
        }
    });
}

void HostPoller::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void HostPoller::set_interval(double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    if (o_.interval_s == seconds) return;
    o_.interval_s = seconds;
    rewait_ = true;
    cv_.notify_all();
}

void HostPoller::event(const Event& rec) {
    // What SocketTable::event counts: a listen, a connect (full capture),
    // a timewait birth. The rest (most records) never takes the lock.
    if (!o_.sockets) return;
    visit_record(rec, nullptr, [&](const Subject& who, const auto& what) {
        if (auto seen = SocketTable::Seen::of(who, what)) {
            std::lock_guard<std::mutex> lock(mu_);
            events_.push_back(*seen);
        }
    });
}

std::shared_ptr<const HostPoll> HostPoller::latest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return latest_;
}

void HostPoller::pass() {
    const uint64_t began = sys::monotonic_ns();
    auto poll = std::make_shared<HostPoll>();
    const uint32_t own = sys::netns_inode_of("/proc/self/ns/net");
    std::vector<rec::NetnsFacts> facts = rec::netns_facts(o_.netns, true);
    if (o_.sockets) {
        std::vector<SocketTable::Seen> since;
        {
            std::lock_guard<std::mutex> lock(mu_);
            since.swap(events_);
        }
        // The rates of this pass's interval: the events seen since the last
        // one, then the sockets now.
        for (const SocketTable::Seen& ev : since) table_.event(ev);
        const uint64_t now = sys::monotonic_ns();
        table_.refresh(tracer_.sockets_now(), now);
        poll->taken_ns = now;
        poll->sockets_known = true;
    } else {
        poll->taken_ns = sys::monotonic_ns();
    }
    poll->holders = tracer_.socket_holders();
    for (auto& f : facts) {
        NetnsPoll ns;
        ns.inode = f.inode;
        for (auto& [k, v] : f.sysctls) ns.sysctls[k] = std::move(v);
        ns.tcpext = std::move(f.tcpext);
        const std::string path = f.inode == own ? std::string() : f.path;
        if (o_.counters) {
            ns.tcp_mib = sys::read_tcp_mib(path);
            ns.sockstat = read_sockstat(path);
        }
        doctor::NetnsState st;
        st.settings = ns.sysctls;
        ns.ports = doctor::ports_of(st);
        if (o_.sockets) {
            std::vector<headroom::SocketSample> mine = table_.sockets(f.inode);
            ns.destinations = table_.busiest(ns.ports, f.inode);
            // The range less reserved and listening ports: the same for every
            // destination, so a walk of its own only when there is none.
            if (!ns.destinations.empty()) {
                ns.usable = ns.destinations.front().headroom.usable;
            } else {
                headroom::Destination none;
                none.netns = f.inode;
                ns.usable = headroom::compute_one(ns.ports, mine, none).usable;
            }
            for (const auto& s : mine)
                if (s.state == kListen) ns.listeners.push_back(s.local.port);
        }
        poll->namespaces.push_back(std::move(ns));
    }
    if (o_.verbose)
        std::fprintf(stderr, "tcplinger: host pass (counters, sockets, headroom) took %.1f ms\n",
                     (sys::monotonic_ns() - began) / 1e6);
    std::lock_guard<std::mutex> lock(mu_);
    poll->generation = ++generation_;
    latest_ = std::move(poll);
}

}  // namespace tcplinger
