// libFuzzer target for the recording reader: any bytes as a recording file,
// and as each kind of frame payload. Built with clang -fsanitize=fuzzer,address
// and FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which skips the checksums so
// mutated frames reach the decoders behind them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "record/codec.hpp"
#include "record/file_reader.hpp"
#include "record/metadata.hpp"

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
            sum += item.event.ts_ns + item.event.task.comm.size() + item.event.owner.comm.size() +
                   item.cgroup_path.size();
        return sum != 42;  // sometimes stop early, as --to does
    }
    bool trailer(const tcplinger::rec::Trailer& t) override {
        sum += t.end_ns + t.netns.size();
        return true;
    }
};
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
    return 0;
}
