#include "rst.hpp"

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace tltest {

namespace {
uint16_t checksum(const void* data, size_t len, uint32_t sum = 0) {
    auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (len & 1) sum += p[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}
}  // namespace

RstSender::RstSender() { fd_ = socket(AF_INET, SOCK_RAW, IPPROTO_TCP); }
RstSender::~RstSender() {
    if (fd_ >= 0) close(fd_);
}

bool RstSender::capture_fin(uint16_t sport, uint16_t dport, int timeout_ms) {
    if (fd_ < 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    while (poll(&pfd, 1, timeout_ms) > 0) {
        uint8_t buf[2048];
        ssize_t n = recv(fd_, buf, sizeof(buf), 0);
        if (n < static_cast<ssize_t>(sizeof(iphdr) + sizeof(tcphdr))) continue;
        auto* ip = reinterpret_cast<iphdr*>(buf);
        auto* tcp = reinterpret_cast<tcphdr*>(buf + ip->ihl * 4);
        if (ntohs(tcp->source) == sport && ntohs(tcp->dest) == dport && tcp->fin) {
            next_seq_ = ntohl(tcp->seq) + 1;
            return true;
        }
    }
    return false;
}

bool RstSender::send_rst(uint16_t sport, uint16_t dport) {
    tcphdr tcp{};
    tcp.source = htons(sport);
    tcp.dest = htons(dport);
    tcp.seq = htonl(next_seq_);
    tcp.doff = sizeof(tcphdr) / 4;
    tcp.rst = 1;
    // pseudo header: src, dst, zero, proto, tcp length
    uint8_t pseudo[12 + sizeof(tcphdr)] = {127, 0, 0, 1, 127, 0, 0, 1, 0, IPPROTO_TCP, 0, sizeof(tcphdr)};
    std::memcpy(pseudo + 12, &tcp, sizeof(tcp));
    tcp.check = htons(checksum(pseudo, sizeof(pseudo)));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sendto(fd_, &tcp, sizeof(tcp), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == sizeof(tcp);
}

}  // namespace tltest
