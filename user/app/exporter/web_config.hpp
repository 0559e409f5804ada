// The Prometheus exporter-toolkit web configuration (--web-config FILE),
// the part tcplinger serves: TLS (tls_server_config: cert_file, key_file)
// and basic auth (basic_auth_users: user -> bcrypt hash). Keys it does not
// implement are refused, not ignored: a client_ca_file silently dropped
// would serve without the client check the file asks for.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace tcplinger::exporter {

struct WebConfig {
    std::string path;                          // the file; empty: no file (plain HTTP, no auth)
    std::string cert_file, key_file;           // resolved (relative to the file's directory)
    std::string cert_pem, key_pem;             // their contents, checked to load as a pair
    std::map<std::string, std::string> users;  // user -> bcrypt hash
    bool tls() const { return !cert_pem.empty(); }
    bool auth() const { return !users.empty(); }
};

// Reads and checks the file: YAML, known keys, both cert and key readable
// and a matching PEM pair, every hash a bcrypt hash ($2a$/$2b$/$2y$).
// Throws FatalError with one line that names the file and what to fix.
WebConfig load_web_config(const std::string& path);
// The same from text (tests); base_dir resolves relative cert paths.
WebConfig parse_web_config(const std::string& yaml, const std::string& base_dir, const std::string& name);

// Checks basic-auth credentials against the users' bcrypt hashes. bcrypt is
// slow on purpose (cost 10: tens of ms), and Prometheus sends the same
// credentials every scrape: successful checks are remembered by a SHA-256
// of user, hash and password (not the password itself), at most kCached.
class BasicAuth {
public:
    explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}
    bool check(const std::string& user, const std::string& password);
    static constexpr size_t kCached = 256;

private:
    std::map<std::string, std::string> users_;
    std::mutex mu_;
    std::set<std::array<uint8_t, 32>> ok_;
};

// crypt_r(3) of a bcrypt hash, compared in constant time.
bool bcrypt_matches(const std::string& password, const std::string& hash);

}  // namespace tcplinger::exporter
