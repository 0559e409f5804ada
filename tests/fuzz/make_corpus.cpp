// Writes the fuzzer's seed corpus: small valid recordings made by the real
// Recorder (plain and compressed frames, a rotated pair with carried-over
// sockets, a file cut mid-frame). The committed tests/fuzz/corpus/ came
// from `tl_make_corpus tests/fuzz/corpus`.
#include <cstdio>
#include <filesystem>

#include "../unit/record_util.hpp"
#include "record/format.hpp"

using namespace rectest;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: tl_make_corpus DIR\n");
        return 2;
    }
    std::string out = argv[1];
    std::filesystem::create_directories(out);
    auto write = [&](const std::string& name, size_t connections, int level) {
        rec::RecorderOptions o = single_file(out + "/" + name);
        std::filesystem::remove(o.path);
        o.zstd_level = level;
        write_recording(o, make_events(Workload{.connections = connections, .spacing = 2 * kMs}), nullptr, 61 * kSec);
    };
    write("plain.tlr", 6, 0);
    write("zstd.tlr", 25, 3);
    write("empty-run.tlr", 0, 0);

    // A rotated recording: the second file starts with a Carry frame.
    TempDir tmp;
    rec::RecorderOptions o;
    o.path = tmp / "flight";
    o.rotate = true;
    o.max_size = 256 << 10;
    o.max_files = 10;
    o.netns = 1;
    o.zstd_level = 3;
    Engine engine;
    write_recording(o, make_events(Workload{.connections = 3000, .spacing = 1 * kMs}), &engine);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(o.path))
        if (e.path().extension() == rec::kFileSuffix) files.push_back(e.path());  // not the lock file
    std::sort(files.begin(), files.end());
    size_t n = 0;
    for (const auto& f : files) {
        std::string data = slurp(f);
        // Keep seeds small: the first frames of each file (its header and
        // the header's copy, the carried sockets, events), cut at a frame boundary.
        size_t pos = rec::kPrefixSize;
        for (int frames = 0; frames < 4 && pos < data.size(); ++frames)
            pos += rec::kFrameHeaderSize + rec::parse_frame_header(std::string_view(data).substr(pos))->stored_len;
        spit(out + "/rotated-" + std::to_string(++n) + ".tlr", data.substr(0, pos));
        if (n == 2) break;
    }
    std::string zstd = slurp(out + "/zstd.tlr");
    spit(out + "/cut.tlr", zstd.substr(0, zstd.size() * 2 / 3));
    return 0;
}
