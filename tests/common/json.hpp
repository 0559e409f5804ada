// Tests read tcplinger's JSON with nlohmann/json (Debian nlohmann-json3-dev),
// a well-kept parser that rejects invalid JSON and ill-formed UTF-8.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

// The document, or nullopt when it is not one valid JSON value.
inline std::optional<nlohmann::json> parse_json(const std::string& s) {
    nlohmann::json v = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) return std::nullopt;
    return v;
}
