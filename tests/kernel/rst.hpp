// Sends a TCP RST on a given IPv4 loopback 4-tuple with the exact sequence
// number the peer's timewait socket expects (tcp_minisocks.c:
// tcp_timewait_state_process kills a TIME-WAIT on an in-window RST when
// tcp_rfc1337 is 0). The sequence number comes from sniffing the FIN.
#pragma once
#include <cstdint>

namespace tltest {

class RstSender {
public:
    RstSender();  // opens a raw TCP socket (in the caller's netns): call before the FIN is sent
    ~RstSender();
    // Waits for a FIN from sport to dport and remembers its sequence + 1.
    bool capture_fin(uint16_t sport, uint16_t dport, int timeout_ms);
    // Sends RST sport -> dport with seq = captured FIN seq + 1.
    bool send_rst(uint16_t sport, uint16_t dport);

private:
    int fd_ = -1;
    uint32_t next_seq_ = 0;
};

}  // namespace tltest
