// One exception type for fatal user-facing errors: main prints the message
// on one line and exits 1. Recoverable failures are return values.
#pragma once
#include <stdexcept>
#include <string>

namespace tcplinger {

class FatalError : public std::runtime_error {
public:
    explicit FatalError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tcplinger
