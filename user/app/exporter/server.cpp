#include "app/exporter/server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace tcplinger::exporter {

std::optional<ListenAddress> parse_listen(const std::string& text) {
    ListenAddress a;
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find("]:");
        if (close == std::string::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        a.v6 = true;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
        return std::nullopt;
    a.host = host;
    a.port = static_cast<uint16_t>(p);
    if (a.v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a.port);
        if (inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) != 1) return std::nullopt;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&a.addr);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a.port);
        if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1) return std::nullopt;
    }
    return a;
}

std::string ListenAddress::url(bool tls) const {
    std::string h = v6 ? "[" + host + "]" : host;
    return std::string(tls ? "https://" : "http://") + h + ":" + std::to_string(port) + "/metrics";
}

struct MetricsServer::State {
    const SnapshotSlot& slot;
    std::mutex mu;
    std::shared_ptr<BasicAuth> auth;  // null: no auth
    explicit State(const SnapshotSlot& s) : slot(s) {}
    std::shared_ptr<BasicAuth> current_auth() {
        std::lock_guard<std::mutex> lock(mu);
        return auth;
    }
};

namespace {

constexpr const char* kIndex =
    "<html><head><title>tcplinger exporter</title></head><body>\n"
    "<h1>tcplinger exporter</h1>\n"
    "<p>TCP TIME-WAIT, FIN-WAIT-2 and CLOSE-WAIT residency per process and workload.</p>\n"
    "<p><a href=\"/metrics\">Metrics</a></p>\n"
    "</body></html>\n";

MHD_Result send(MHD_Connection* c, unsigned status, const std::string& body, const char* type,
                const char* allow = nullptr) {
    MHD_Response* r =
        MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

MHD_Result handle(void* cls, MHD_Connection* c, const char* url, const char* method, const char* /*version*/,
                  const char* /*upload_data*/, size_t* upload_size, void** con_cls) {
    auto* state = static_cast<MetricsServer::State*>(cls);
    // A request with a body is answered at its first call; the body is
    // never read (nothing here takes one).
    if (*con_cls == nullptr) *con_cls = state;
    *upload_size = 0;
    if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or HEAD\n",
                    "text/plain; charset=utf-8", "GET, HEAD");
    if (auto auth = state->current_auth()) {
        char* pass = nullptr;
        char* user = MHD_basic_auth_get_username_password(c, &pass);
        bool ok = user && pass && auth->check(user, pass);
        if (user) MHD_free(user);
        if (pass) MHD_free(pass);
        if (!ok) {
            static const char kDenied[] = "unauthorized\n";
            MHD_Response* r =
                MHD_create_response_from_buffer(sizeof kDenied - 1, const_cast<char*>(kDenied), MHD_RESPMEM_PERSISTENT);
            if (!r) return MHD_NO;
            MHD_Result ret = MHD_queue_basic_auth_fail_response(c, "tcplinger", r);
            MHD_destroy_response(r);
            return ret;
        }
    }
    std::string_view path(url);
    if (path == "/metrics") {
        auto snap = state->slot.latest();
        const char* accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        ExpositionFormat f = format_for_accept(accept ? accept : "");
        std::string body = snap ? render_metrics(*snap, f) : std::string();
        std::string type(content_type(f));
        return send(c, MHD_HTTP_OK, body, type.c_str());
    }
    if (path == "/") return send(c, MHD_HTTP_OK, kIndex, "text/html; charset=utf-8");
    return send(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n", "text/plain; charset=utf-8");
}

// libmicrohttpd's own messages (a client that sent garbage, a TLS
// handshake that failed) are the client's problem, not the operator's.
void quiet_logger(void*, const char*, va_list) {}

}  // namespace

MetricsServer::MetricsServer(ListenAddress addr, ServerLimits limits, const SnapshotSlot& slot)
    : addr_(std::move(addr)), limits_(limits), state_(std::make_shared<State>(slot)) {}

MetricsServer::~MetricsServer() { stop(); }

MHD_Daemon* MetricsServer::launch(const WebConfig& cfg, int listen_fd) {
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (addr_.v6) flags |= MHD_USE_IPv6;
    if (cfg.tls()) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            throw FatalError("failed to serve TLS: this libmicrohttpd has no TLS support; drop tls_server_config");
        flags |= MHD_USE_TLS;
    }
    std::vector<MHD_OptionItem> o;
    auto opt = [&](MHD_OPTION k, intptr_t v, void* p = nullptr) { o.push_back(MHD_OptionItem{k, v, p}); };
    if (listen_fd >= 0)
        opt(MHD_OPTION_LISTEN_SOCKET, listen_fd);
    else
        opt(MHD_OPTION_SOCK_ADDR, 0, &addr_.addr);
    opt(MHD_OPTION_THREAD_POOL_SIZE, limits_.threads);
    opt(MHD_OPTION_CONNECTION_LIMIT, limits_.connections);
    opt(MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits_.per_ip);
    opt(MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(limits_.memory));
    opt(MHD_OPTION_CONNECTION_TIMEOUT, limits_.timeout_s);
    opt(MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&quiet_logger), nullptr);
    if (cfg.tls()) {
        opt(MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(cfg.cert_pem.c_str()));
        opt(MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(cfg.key_pem.c_str()));
    }
    opt(MHD_OPTION_END, 0);
    return MHD_start_daemon(flags, addr_.port, nullptr, nullptr, &handle, state_.get(), MHD_OPTION_ARRAY, o.data(),
                            MHD_OPTION_END);
}

void MetricsServer::start(const WebConfig& cfg) {
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->auth = cfg.auth() ? std::make_shared<BasicAuth>(cfg.users) : nullptr;
    }
    errno = 0;
    daemon_ = launch(cfg, -1);
    if (!daemon_) {
        int err = errno;
        throw FatalError("failed to listen on " + addr_.url(false).substr(7, std::string::npos) + ": " +
                         (err ? std::strerror(err) : "libmicrohttpd refused the settings") +
                         "; give another --listen ADDR:PORT or stop what holds it");
    }
    cfg_ = cfg;
}

void MetricsServer::reload(const WebConfig& cfg) {
    bool restart = cfg.cert_pem != cfg_.cert_pem || cfg.key_pem != cfg_.key_pem;
    if (restart && daemon_) {
        MHD_socket fd = MHD_quiesce_daemon(daemon_);
        if (fd == MHD_INVALID_SOCKET) throw FatalError("failed to restart the server for the new TLS settings");
        MHD_stop_daemon(daemon_);  // connections in flight finish first
        daemon_ = launch(cfg, fd);
        if (!daemon_) {
            daemon_ = launch(cfg_, fd);  // the old settings, on the same socket
            if (!daemon_) ::close(fd);
            throw FatalError("failed to serve with the new TLS settings; kept the old ones");
        }
    }
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->auth = cfg.auth() ? std::make_shared<BasicAuth>(cfg.users) : nullptr;
    }
    cfg_ = cfg;
}

void MetricsServer::stop() {
    if (daemon_) MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
}

}  // namespace tcplinger::exporter
