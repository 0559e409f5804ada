// A strict little JSON reader for tests: validates a document and gives
// access to objects, arrays, strings, numbers, booleans and null.
#pragma once
#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace minijson {

struct Value {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<Value> arr;
    std::map<std::string, Value> obj;
    bool has(const std::string& k) const { return kind == Object && obj.count(k); }
    const Value& operator[](const std::string& k) const { return obj.at(k); }
    const Value& operator[](size_t i) const { return arr.at(i); }
};

class Parser {
public:
    explicit Parser(const std::string& s) : s_(s) {}
    std::optional<Value> parse() {
        Value v;
        if (!value(v)) return std::nullopt;
        ws();
        if (i_ != s_.size()) return std::nullopt;
        return v;
    }

private:
    void ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool lit(const char* l) {
        size_t n = std::char_traits<char>::length(l);
        if (s_.compare(i_, n, l) != 0) return false;
        i_ += n;
        return true;
    }
    bool string(std::string& out) {
        if (s_[i_] != '"') return false;
        ++i_;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c == '\\') {
                if (i_ >= s_.size()) return false;
                char e = s_[i_++];
                switch (e) {
                    case '"':
                        out += '"';
                        break;
                    case '\\':
                        out += '\\';
                        break;
                    case '/':
                        out += '/';
                        break;
                    case 'n':
                        out += '\n';
                        break;
                    case 't':
                        out += '\t';
                        break;
                    case 'r':
                        out += '\r';
                        break;
                    case 'b':
                        out += '\b';
                        break;
                    case 'f':
                        out += '\f';
                        break;
                    case 'u':
                        if (i_ + 4 > s_.size()) return false;
                        out += static_cast<char>(std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16));
                        i_ += 4;
                        break;
                    default:
                        return false;
                }
            } else {
                out += c;
            }
        }
        if (i_ >= s_.size()) return false;
        ++i_;
        return true;
    }
    bool value(Value& v) {
        ws();
        if (i_ >= s_.size()) return false;
        char c = s_[i_];
        if (c == '{') {
            v.kind = Value::Object;
            ++i_;
            ws();
            if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
            while (true) {
                ws();
                std::string k;
                if (i_ >= s_.size() || !string(k)) return false;
                ws();
                if (i_ >= s_.size() || s_[i_++] != ':') return false;
                Value item;
                if (!value(item)) return false;
                if (v.obj.count(k)) return false;  // duplicate key
                v.obj.emplace(k, std::move(item));
                ws();
                if (i_ >= s_.size()) return false;
                if (s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (s_[i_] == '}') return ++i_, true;
                return false;
            }
        }
        if (c == '[') {
            v.kind = Value::Array;
            ++i_;
            ws();
            if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
            while (true) {
                Value item;
                if (!value(item)) return false;
                v.arr.push_back(std::move(item));
                ws();
                if (i_ >= s_.size()) return false;
                if (s_[i_] == ',') {
                    ++i_;
                    continue;
                }
                if (s_[i_] == ']') return ++i_, true;
                return false;
            }
        }
        if (c == '"') {
            v.kind = Value::String;
            return string(v.str);
        }
        if (lit("true")) {
            v.kind = Value::Bool;
            v.b = true;
            return true;
        }
        if (lit("false")) {
            v.kind = Value::Bool;
            return true;
        }
        if (lit("null")) {
            v.kind = Value::Null;
            return true;
        }
        const char* start = s_.c_str() + i_;
        char* end = nullptr;
        v.num = std::strtod(start, &end);
        if (end == start) return false;
        v.kind = Value::Number;
        i_ += end - start;
        return true;
    }
    const std::string& s_;
    size_t i_ = 0;
};

inline std::optional<Value> parse(const std::string& s) { return Parser(s).parse(); }

}  // namespace minijson
