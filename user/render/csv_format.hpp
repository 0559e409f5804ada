// CSV from the flat JSON objects the renderers write (trace -j lines), so a
// CSV export has exactly trace -j's fields, in its order: a header row from
// the first object's keys, RFC 4180 quoting, null as an empty field. The
// JSON is valid UTF-8 and its \u escapes become UTF-8, so the CSV is valid
// UTF-8 too (a byte that was not UTF-8 reads as Latin-1: 0xff is U+00FF).
#pragma once
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace tcplinger {

class CsvWriter {
public:
    explicit CsvWriter(std::ostream& out) : out_(out) {}
    // One flat JSON object (strings, numbers, true/false, null). Returns
    // false, writing nothing, if it is not one.
    bool json_line(std::string_view json);

private:
    std::ostream& out_;
    bool header_done_ = false;
};

// The (key, value) pairs of a flat JSON object, values as CSV wants them
// (strings unescaped, \u escapes as UTF-8, null empty). False if it is not
// a flat object.
bool flat_json_fields(std::string_view json, std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace tcplinger
