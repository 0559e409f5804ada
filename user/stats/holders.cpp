#include "stats/holders.hpp"

#include <algorithm>
#include <tuple>

namespace tcplinger {

HolderIndex::HolderIndex(const std::vector<SocketHolder>& holders) {
    for (const auto& h : holders) by_cookie_[h.cookie].push_back(&h);
    for (auto& [cookie, mine] : by_cookie_)
        std::sort(mine.begin(), mine.end(), [](const SocketHolder* a, const SocketHolder* b) {
            return std::tie(a->process.pid, a->fd) < std::tie(b->process.pid, b->fd);
        });
}

const Process* HolderIndex::charged(uint64_t cookie, const Connection& c, const Filter& filter,
                                    const std::vector<const SocketHolder*>** held) const {
    if (held) *held = nullptr;
    if (auto it = by_cookie_.find(cookie); c.state == kCloseWait && it != by_cookie_.end()) {
        const auto& mine = it->second;
        auto first =
            std::find_if(mine.begin(), mine.end(), [&](const SocketHolder* h) { return filter.match(c, h->process); });
        if (first == mine.end()) return nullptr;
        if (held) *held = &mine;
        return &(*first)->process;
    }
    const Process& p = responsible(c, c.state);
    return filter.match(c, p) ? &p : nullptr;
}

}  // namespace tcplinger
