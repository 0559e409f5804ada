#include "render/csv_format.hpp"

#include <cctype>

namespace tcplinger {

namespace {
class FlatJson {
public:
    explicit FlatJson(std::string_view s) : s_(s) {}

    bool parse(std::vector<std::pair<std::string, std::string>>& fields) {
        fields.clear();
        skip_space();
        if (!eat('{')) return false;
        skip_space();
        if (eat('}')) return rest_empty();
        for (;;) {
            std::string key, value;
            skip_space();
            if (!string(key)) return false;
            skip_space();
            if (!eat(':')) return false;
            skip_space();
            if (peek() == '"') {
                if (!string(value)) return false;
            } else if (!scalar(value)) {
                return false;
            }
            fields.emplace_back(std::move(key), std::move(value));
            skip_space();
            if (eat('}')) return rest_empty();
            if (!eat(',')) return false;
        }
    }

private:
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    bool eat(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    void skip_space() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    bool rest_empty() {
        skip_space();
        return pos_ == s_.size();
    }
    static void append_utf8(std::string& out, unsigned v) {
        if (v < 0x80) {
            out.push_back(static_cast<char>(v));
        } else if (v < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (v >> 6)));
            out.push_back(static_cast<char>(0x80 | (v & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xe0 | (v >> 12)));
            out.push_back(static_cast<char>(0x80 | ((v >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (v & 0x3f)));
        }
    }
    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '"') return true;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (pos_ >= s_.size()) return false;
            char e = s_[pos_++];
            switch (e) {
                case '"':
                    out.push_back('"');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '/':
                    out.push_back('/');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'u': {
                    // A code point, written back as UTF-8: a CSV has no escapes,
                    // and must stay valid UTF-8 (json::append_string writes
                    // \u00XX for controls and for bytes that were not UTF-8).
                    if (pos_ + 4 > s_.size()) return false;
                    unsigned v = 0;
                    for (int i = 0; i < 4; ++i) {
                        int h = hex(s_[pos_ + i]);
                        if (h < 0) return false;
                        v = v * 16 + static_cast<unsigned>(h);
                    }
                    pos_ += 4;
                    if (v >= 0xd800 && v <= 0xdfff) return false;  // never written: no surrogate pairs
                    append_utf8(out, v);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;
    }
    bool scalar(std::string& out) {
        size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' &&
               !std::isspace(static_cast<unsigned char>(s_[pos_])))
            ++pos_;
        std::string_view v = s_.substr(start, pos_ - start);
        if (v.empty() || v[0] == '{' || v[0] == '[') return false;
        if (v == "null") return true;
        out = std::string(v);
        return true;
    }

    std::string_view s_;
    size_t pos_ = 0;
};

void csv_field(std::ostream& out, const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) {
        out << v;
        return;
    }
    out << '"';
    for (char c : v) {
        if (c == '"') out << '"';
        out << c;
    }
    out << '"';
}
}  // namespace

bool flat_json_fields(std::string_view json, std::vector<std::pair<std::string, std::string>>& fields) {
    return FlatJson(json).parse(fields);
}

bool CsvWriter::json_line(std::string_view json) {
    std::vector<std::pair<std::string, std::string>> fields;
    if (!flat_json_fields(json, fields)) return false;
    if (!header_done_) {
        for (size_t i = 0; i < fields.size(); ++i) {
            if (i) out_ << ',';
            csv_field(out_, fields[i].first);
        }
        out_ << "\n";
        header_done_ = true;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out_ << ',';
        csv_field(out_, fields[i].second);
    }
    out_ << "\n";
    return true;
}

}  // namespace tcplinger
