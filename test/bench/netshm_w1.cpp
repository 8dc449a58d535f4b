// W1 on netshm through its public C API: a file table in /dev/shm (the same
// kind of object as ocamlnet_w1's `File`), page size 256, with
// NETSHM_RECORD_LOCKING (--variant record), NETSHM_MUTEX_LOCKING (--variant
// mutex) or NETSHM_NO_LOCKING (--variant none).
#include "netshm_handle.hpp"
#include "w1_driver.hpp"

#include <fcntl.h>

namespace {

using bench::check_netshm;

netshm_locking locking_of(const std::string &variant)
{
    if (variant == "none")
        return NETSHM_NO_LOCKING;
    return variant == "mutex" ? NETSHM_MUTEX_LOCKING : NETSHM_RECORD_LOCKING;
}

class netshm_store {
public:
    static constexpr const char *system = "netshm";
    static std::vector<std::string> variants() { return {"record", "mutex", "none"}; }
    static std::string unavailable(const bench::config &) { return {}; }
    static std::string no_multi_process(const bench::config &c)
    {
        return c.variant == "none" ? "NETSHM_NO_LOCKING does not protect concurrent writers" : "";
    }
    static std::vector<std::string> files(const bench::config &c) { return {c.base}; }

    netshm_store(const bench::config &c, bool create)
        : handle_(NETSHM_TYPE_FILE, c.base, create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR,
                  locking_of(c.variant)),
          table_(handle_.table())
    {
    }

    void add(std::int32_t key, const bench::value &v)
    {
        check_netshm(netshm_add(table_, key, v.data(), v.size()), "netshm_add");
    }
    void replace(std::int32_t key, const bench::value &v)
    {
        check_netshm(netshm_replace(table_, key, v.data(), v.size()), "netshm_replace");
    }
    void remove(std::int32_t key) { check_netshm(netshm_remove(table_, key), "netshm_remove"); }

    bool find(std::int32_t key, bench::value &out, std::size_t &len)
    {
        int rc = netshm_find_into(table_, key, out.data(), out.size(), &len);
        if (rc == NETSHM_ENOTFOUND)
            return false;
        if (rc != NETSHM_ETOOBIG)  // too big: found, with the length needed in len
            check_netshm(rc, "netshm_find_into");
        return true;
    }

    template <class F>
    void iter(F f)
    {
        auto visit = [](std::int32_t key, const std::int32_t *words, std::size_t len, void *ctx) {
            (*static_cast<F *>(ctx))(key, words, len);
            return 0;
        };
        check_netshm(netshm_iter(table_, visit, &f), "netshm_iter");
    }

    std::size_t length()
    {
        std::size_t n = 0;
        check_netshm(netshm_length(table_, &n), "netshm_length");
        return n;
    }

    void group_begin() { check_netshm(netshm_group_begin(table_), "netshm_group_begin"); }
    void group_end() { check_netshm(netshm_group_end(table_), "netshm_group_end"); }

private:
    bench::netshm_handle handle_;
    netshm_table *table_;
};

} // namespace

int main(int argc, char **argv) { return bench::main_w1<netshm_store>(argc, argv); }
