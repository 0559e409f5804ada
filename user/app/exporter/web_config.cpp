#include "app/exporter/web_config.hpp"

#include <crypt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.hpp"

namespace tcplinger::exporter {

namespace {

[[noreturn]] void bad(const std::string& name, const std::string& what) {
    throw FatalError("bad web config " + name + ": " + what);
}

std::string read_file(const std::string& name, const std::string& key, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) bad(name, "failed to read " + key + " " + path + ": " + std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool is_bcrypt(const std::string& h) {
    return h.size() == 60 && h[0] == '$' && h[1] == '2' && (h[2] == 'a' || h[2] == 'b' || h[2] == 'y') && h[3] == '$';
}

void check_pair(const std::string& name, const WebConfig& c) {
    gnutls_certificate_credentials_t cred = nullptr;
    if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS) bad(name, "failed to set up TLS");
    gnutls_datum_t cert{reinterpret_cast<unsigned char*>(const_cast<char*>(c.cert_pem.data())),
                        static_cast<unsigned>(c.cert_pem.size())};
    gnutls_datum_t key{reinterpret_cast<unsigned char*>(const_cast<char*>(c.key_pem.data())),
                       static_cast<unsigned>(c.key_pem.size())};
    int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0)
        bad(name, "cert_file " + c.cert_file + " and key_file " + c.key_file +
                      " are not a matching PEM certificate and key: " + gnutls_strerror(rc));
}

}  // namespace

WebConfig parse_web_config(const std::string& yaml, const std::string& base_dir, const std::string& name) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        bad(name, std::string("not YAML: ") + e.what());
    }
    WebConfig c;
    c.path = name;
    if (root.IsNull()) return c;  // an empty file: plain HTTP, no auth (as exporter-toolkit)
    if (!root.IsMap()) bad(name, "expected a mapping with tls_server_config and/or basic_auth_users");
    try {
        for (const auto& kv : root) {
            std::string key = kv.first.as<std::string>();
            if (key == "tls_server_config") {
                if (kv.second.IsNull()) continue;
                if (!kv.second.IsMap()) bad(name, "tls_server_config must be a mapping (cert_file, key_file)");
                for (const auto& t : kv.second) {
                    std::string k = t.first.as<std::string>();
                    if (k == "cert_file")
                        c.cert_file = t.second.as<std::string>();
                    else if (k == "key_file")
                        c.key_file = t.second.as<std::string>();
                    else
                        bad(name, "tls_server_config." + k +
                                      " is not supported (tcplinger takes cert_file and key_file only)");
                }
                if (c.cert_file.empty() || c.key_file.empty())
                    bad(name, "tls_server_config needs both cert_file and key_file");
            } else if (key == "basic_auth_users") {
                if (kv.second.IsNull()) continue;
                if (!kv.second.IsMap()) bad(name, "basic_auth_users must map each user to a bcrypt hash");
                for (const auto& u : kv.second) {
                    std::string user = u.first.as<std::string>();
                    std::string hash = u.second.IsScalar() ? u.second.as<std::string>() : "";
                    if (user.empty() || user.find(':') != std::string::npos)
                        bad(name, "basic_auth_users: user '" + user + "' is empty or has a ':'");
                    if (!is_bcrypt(hash))
                        bad(name, "basic_auth_users." + user +
                                      " is not a bcrypt hash ($2y$..., 60 characters; make one with "
                                      "htpasswd -nbBC 10 USER PASSWORD)");
                    c.users[user] = hash;
                }
            } else {
                bad(name, key + " is not supported (tcplinger takes tls_server_config and basic_auth_users)");
            }
        }
    } catch (const YAML::Exception& e) {
        bad(name, std::string("not the expected layout: ") + e.what());
    }
    if (!c.cert_file.empty()) {
        auto resolve = [&](const std::string& p) {
            std::filesystem::path fp(p);
            return fp.is_absolute() ? p : (std::filesystem::path(base_dir) / fp).string();
        };
        c.cert_file = resolve(c.cert_file);
        c.key_file = resolve(c.key_file);
        c.cert_pem = read_file(name, "cert_file", c.cert_file);
        c.key_pem = read_file(name, "key_file", c.key_file);
        if (c.cert_pem.empty()) bad(name, "cert_file " + c.cert_file + " is empty");
        check_pair(name, c);
    }
    return c;
}

WebConfig load_web_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FatalError("failed to read web config " + path + ": " + std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    std::string dir = std::filesystem::path(path).parent_path().string();
    return parse_web_config(s.str(), dir.empty() ? "." : dir, path);
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
    auto data = std::make_unique<crypt_data>();  // 32 KiB: not on the server thread's stack
    std::memset(data.get(), 0, sizeof(crypt_data));
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    if (!out || out[0] == '*' || std::strlen(out) != hash.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < hash.size(); ++i) diff |= static_cast<unsigned char>(out[i] ^ hash[i]);
    return diff == 0;
}

bool BasicAuth::check(const std::string& user, const std::string& password) {
    auto it = users_.find(user);
    if (it == users_.end()) return false;
    std::string material = user + '\0' + it->second + '\0' + password;
    std::array<uint8_t, 32> digest{};
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, material.data(), material.size(), digest.data()) < 0) return false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (ok_.count(digest)) return true;
    }
    if (!bcrypt_matches(password, it->second)) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (ok_.size() >= kCached) ok_.clear();
    ok_.insert(digest);
    return true;
}

}  // namespace tcplinger::exporter
