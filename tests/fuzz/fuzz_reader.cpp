// libFuzzer target for the recording reader: any bytes as a recording file,
// and as each kind of frame payload; and the same bytes as a file on disk,
// read the way report reads it (a directory of recordings, files read in
// pread() windows, segments, the events fed to the lifecycle engine).
// Built with clang -fsanitize=fuzzer,address and
// FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which skips the checksums so
// mutated frames reach the decoders behind them, and makes the read window
// 64 bytes so frames straddle its edges.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "lifecycle/engine.hpp"
#include "record/codec.hpp"
#include "record/file_reader.hpp"
#include "record/metadata.hpp"
#include "record/recording_set.hpp"

namespace {
// Touches what it is given, so ASan sees every byte the reader produced.
class Touch : public tcplinger::rec::FileVisitor {
public:
    uint64_t sum = 0;
    bool header(const tcplinger::rec::FileHeader& h) override {
        sum += h.hostname.size() + h.netns.size() + h.command.size();
        for (const auto& n : h.netns) sum += n.path.size() + n.sysctls.size() + n.tcpext.size();
        return true;
    }
    bool items(tcplinger::rec::FrameType, const tcplinger::rec::DecodedItems& d) override {
        for (const auto& item : d.items)
            sum +=
                item.event.ts_ns + item.event.task.comm.size() + item.event.owner.comm.size() + item.cgroup_path.size();
        return sum != 42;  // sometimes stop early, as --to does
    }
    bool trailer(const tcplinger::rec::Trailer& t) override {
        sum += t.end_ns + t.netns.size();
        return true;
    }
};

// What report does with a recording set: every event through the engine.
class Report : public tcplinger::rec::ReplayVisitor {
public:
    tcplinger::Engine engine;
    uint64_t residencies = 0;
    Report() {
        engine.on_residency([this](const tcplinger::Residency& r) { residencies += r.duration_ns() & 1; });
    }
    bool event(const tcplinger::Event& ev) override {
        engine.process(ev);
        return true;
    }
    void advance(uint64_t now) override { engine.advance(now); }
    void file_end(const std::string& path, const tcplinger::rec::FileReport& r,
                  const std::optional<tcplinger::rec::Trailer>&) override {
        (void)tcplinger::rec::describe(path, r);
    }
};

// One directory for the process; each input is written into it as a file.
// Plain char arrays: the exit handler runs after static strings are gone.
char g_dir[32], g_input[48];
const char* scratch_dir() {
    if (!g_dir[0]) {
        std::strcpy(g_dir, "/tmp/tl-fuzz-XXXXXX");
        if (!mkdtemp(g_dir)) std::abort();
        std::snprintf(g_input, sizeof(g_input), "%s/input.tlr", g_dir);
        std::atexit([] {
            unlink(g_input);
            rmdir(g_dir);
        });
    }
    return g_dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    Touch touch;
    tcplinger::rec::FileReport report = tcplinger::rec::read_file(bytes, touch);
    (void)tcplinger::rec::describe("fuzz.tlr", report);
    (void)tcplinger::rec::peek_header(bytes);
    (void)tcplinger::rec::decode_items(bytes);
    (void)tcplinger::rec::decode_header(bytes);
    (void)tcplinger::rec::decode_trailer(bytes);

    // The whole-file path: the bytes as a recording in a directory.
    const std::string dir = scratch_dir(), path = g_input;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) std::abort();
        done += static_cast<size_t>(n);
    }
    close(fd);
    Report r;
    tcplinger::rec::ReadSummary s = tcplinger::rec::replay({dir, path}, r);
    r.engine.flush();
    return static_cast<int>(s.events & 0);
}
