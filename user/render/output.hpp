// The one place where command output meets a file descriptor. Every command
// that writes results (trace, stats, report, export) writes through an
// Output, so a write error is noticed once, the same way everywhere:
// - the reader of a pipe went away (EPIPE): stop quietly, exit 0, as cat and
//   bcc tools do (SIGPIPE is ignored so that the tracer can detach cleanly);
// - any other error (ENOSPC on /dev/full, EIO...): one line naming the
//   output, `failed to write standard output: No space left on device`,
//   exit 1.
// The stream buffer never throws (live records arrive through libbpf's C
// callbacks, which must not be unwound); it remembers the first error and
// drops what follows. Loops ask failed() to stop early, and finish() turns
// the error into the exit.
#pragma once
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

namespace tcplinger {

// Thrown by Output::finish() when the reader closed the pipe: main() exits 0
// without a message. Not a FatalError: nothing went wrong.
class OutputClosed : public std::runtime_error {
public:
    OutputClosed() : std::runtime_error("output closed by its reader") {}
};

class FdBuffer : public std::streambuf {
public:
    explicit FdBuffer(int fd, size_t size = 64 << 10);
    int error() const { return error_; }
    void set_error(int err) {
        if (!error_) error_ = err;
    }

protected:
    int_type overflow(int_type ch) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

private:
    bool drain();  // writes the put area; false on error
    bool write_all(const char* p, size_t n);

    int fd_;
    std::vector<char> buf_;
    int error_ = 0;
};

class Output {
public:
    // Standard output, named "standard output" in messages.
    Output();
    ~Output();
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    std::ostream& stream() { return stream_; }
    // Hands what is buffered to the kernel; errors are kept for finish().
    void flush();
    // True once a write failed (cheap: for every record of a replay).
    bool failed() const { return buf_.error() != 0; }
    // Also true once the reader of a pipe is gone, even with nothing written
    // yet: an idle `trace | head -1` must end too (a poll(2) per call: for
    // live loops, about every 50 ms).
    bool check();
    // Flushes; then throws OutputClosed (EPIPE) or FatalError naming the
    // output (any other error). Call before announcing success.
    void finish();

private:
    int fd_;
    std::string name_;
    bool pipe_ = false;
    FdBuffer buf_;
    std::ostream stream_;
};

}  // namespace tcplinger
