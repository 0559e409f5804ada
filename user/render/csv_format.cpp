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
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'n': out.push_back('\n'); break;
            case 't': out.push_back('\t'); break;
            case 'r': out.push_back('\r'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'u': {
                // json::string escapes single bytes as \u00XX: give the byte back.
                if (pos_ + 4 > s_.size()) return false;
                int v = 0;
                for (int i = 0; i < 4; ++i) {
                    int h = hex(s_[pos_ + i]);
                    if (h < 0) return false;
                    v = v * 16 + h;
                }
                pos_ += 4;
                if (v > 0xff) return false;
                out.push_back(static_cast<char>(v));
                break;
            }
            default: return false;
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
