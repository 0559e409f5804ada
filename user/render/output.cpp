#include "render/output.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace tcplinger {

FdBuffer::FdBuffer(int fd, size_t size) : fd_(fd), buf_(size) { setp(buf_.data(), buf_.data() + buf_.size()); }

bool FdBuffer::write_all(const char* p, size_t n) {
    while (n > 0 && !error_) {
        ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // An inherited O_NONBLOCK stdout: wait, as a blocking write would.
                pollfd p{fd_, POLLOUT, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            error_ = errno;
            break;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return !error_;
}

bool FdBuffer::drain() {
    size_t n = static_cast<size_t>(pptr() - pbase());
    bool ok = n == 0 || write_all(pbase(), n);
    // After an error the rest is dropped: nobody can read it.
    setp(buf_.data(), buf_.data() + buf_.size());
    return ok && !error_;
}

FdBuffer::int_type FdBuffer::overflow(int_type ch) {
    if (!drain()) return traits_type::eof();
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
    return ch;
}

std::streamsize FdBuffer::xsputn(const char* s, std::streamsize n) {
    if (error_) return 0;
    auto len = static_cast<size_t>(n);
    if (len <= static_cast<size_t>(epptr() - pptr())) {
        std::memcpy(pptr(), s, len);
        pbump(static_cast<int>(len));
        return n;
    }
    if (!drain()) return 0;
    if (len >= buf_.size()) return write_all(s, len) ? n : 0;
    std::memcpy(pptr(), s, len);
    pbump(static_cast<int>(len));
    return n;
}

int FdBuffer::sync() { return drain() ? 0 : -1; }

Output::Output() : fd_(STDOUT_FILENO), name_("standard output"), buf_(STDOUT_FILENO), stream_(&buf_) {
    struct stat st {};
    pipe_ = fstat(fd_, &st) == 0 && S_ISFIFO(st.st_mode);
}

Output::~Output() { flush(); }  // an early return or a FatalError keeps what was written

void Output::flush() { buf_.pubsync(); }

bool Output::check() {
    if (!buf_.error() && pipe_) {
        // The write end of a pipe polls POLLERR once no reader is left
        // (fs/pipe.c: pipe_poll), before any write would hit EPIPE.
        pollfd p{fd_, 0, 0};
        if (::poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) buf_.set_error(EPIPE);
    }
    return buf_.error() != 0;
}

void Output::finish() {
    flush();
    int err = buf_.error();
    if (!err) return;
    if (err == EPIPE) throw OutputClosed();
    throw FatalError("failed to write " + name_ + ": " + std::strerror(err));
}

}  // namespace tcplinger
