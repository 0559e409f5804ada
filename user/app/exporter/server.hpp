// The exporter's HTTP(S) server: libmicrohttpd with its own threads. Every
// limit that keeps a client from stalling capture or growing memory is the
// library's: a connection limit, a per-IP limit, a per-connection memory
// pool (which bounds the request header: larger gets 431 or a close) and an
// idle timeout. Scrapes render the latest published snapshot on those
// threads; the capture loop only swaps a shared_ptr.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/exporter/web_config.hpp"
#include "render/prometheus.hpp"

struct MHD_Daemon;

namespace tcplinger::exporter {

struct ListenAddress {
    std::string host;  // as given (IPv6 without brackets)
    uint16_t port = 0;
    bool v6 = false;
    sockaddr_storage addr{};
    std::string url(bool tls) const;  // http://127.0.0.1:9747/metrics
};
// "127.0.0.1:9747", "0.0.0.0:9747", "[::1]:9747", "[::]:9747"; nullopt
// when malformed (numeric addresses only: no name lookup at start).
std::optional<ListenAddress> parse_listen(const std::string& text);

struct ServerLimits {
    unsigned threads = 2;        // thread pool
    unsigned connections = 128;  // at once, in all
    unsigned per_ip = 32;        // at once, per client address
    size_t memory = 64 * 1024;   // per connection (request header and state)
    unsigned timeout_s = 15;     // idle connection closed after
};

// The latest snapshot, swapped under a mutex (readers keep theirs alive).
class SnapshotSlot {
public:
    void publish(std::shared_ptr<const MetricsSnapshot> s) {
        std::lock_guard<std::mutex> lock(mu_);
        s_ = std::move(s);
    }
    std::shared_ptr<const MetricsSnapshot> latest() const {
        std::lock_guard<std::mutex> lock(mu_);
        return s_;
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const MetricsSnapshot> s_;
};

class MetricsServer {
public:
    MetricsServer(ListenAddress addr, ServerLimits limits, const SnapshotSlot& slot);
    ~MetricsServer();
    // Binds and serves; throws FatalError ("failed to listen on ...").
    void start(const WebConfig& cfg);
    // A new web config: users swap at once; a TLS change restarts the
    // daemon on the same listening socket (no gap in listening). Throws
    // FatalError and keeps serving the old config when the new one fails.
    void reload(const WebConfig& cfg);
    void stop();
    bool tls() const { return cfg_.tls(); }

    struct State;  // what the request handler reads (shared with the daemon)

private:
    MHD_Daemon* launch(const WebConfig& cfg, int listen_fd);
    ListenAddress addr_;
    ServerLimits limits_;
    std::shared_ptr<State> state_;
    WebConfig cfg_;
    MHD_Daemon* daemon_ = nullptr;
};

}  // namespace tcplinger::exporter
