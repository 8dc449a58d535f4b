// W1 on Samba's TDB: a database file in /dev/shm, key = the 4-byte int, data =
// the 16-byte value.  --variant fcntl: TDB's default fcntl locking, hash size
// 131071.  --variant mutex: TDB_MUTEX_LOCKING (which needs TDB_INCOMPATIBLE_HASH
// and TDB_CLEAR_IF_FIRST), when tdb_runtime_check_for_robust_mutexes() allows it.
// Finds use tdb_parse_record (no malloc), iteration tdb_traverse_read.  The
// mp_mixed workers reopen the inherited handle with tdb_reopen (TDB's way after
// fork: tdb_open of a file the process has open fails with EBUSY, and a child
// inherits that knowledge).
#include "w1_driver.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <tdb.h>

namespace {

constexpr int hash_size = 131071;

TDB_DATA datum(const void *bytes, std::size_t size)
{
    return TDB_DATA{static_cast<unsigned char *>(const_cast<void *>(bytes)), size};
}

class tdb_database {
public:
    static constexpr const char *system = "tdb";
    static std::vector<std::string> variants() { return {"fcntl", "mutex"}; }
    static std::string unavailable(const bench::config &c)
    {
        if (c.variant == "mutex" && !tdb_runtime_check_for_robust_mutexes())
            return "TDB_MUTEX_LOCKING: tdb_runtime_check_for_robust_mutexes() says robust mutexes are unavailable";
        return {};
    }
    static std::string no_multi_process(const bench::config &) { return {}; }
    static std::vector<std::string> files(const bench::config &c) { return {c.base}; }

    tdb_database(const bench::config &c, bool create)
    {
        // The parent keeps its handle open while the mp_mixed workers reopen
        // theirs, so TDB_CLEAR_IF_FIRST never clears the data under them.
        int flags = c.variant == "mutex" ? TDB_MUTEX_LOCKING | TDB_INCOMPATIBLE_HASH | TDB_CLEAR_IF_FIRST : TDB_DEFAULT;
        tdb_ = tdb_open(c.base.c_str(), hash_size, flags, create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
        if (tdb_ == nullptr)
            throw bench::failure("tdb_open " + c.base + ": " + std::strerror(errno));
    }
    ~tdb_database() { tdb_close(tdb_); }
    void reopen_after_fork()
    {
        if (tdb_reopen(tdb_) != 0)
            fail("tdb_reopen");
    }
    tdb_database(const tdb_database &) = delete;
    tdb_database &operator=(const tdb_database &) = delete;

    void add(std::int32_t key, const bench::value &v) { store(key, v, TDB_INSERT, "tdb_store(TDB_INSERT)"); }
    void replace(std::int32_t key, const bench::value &v) { store(key, v, TDB_MODIFY, "tdb_store(TDB_MODIFY)"); }
    void remove(std::int32_t key)
    {
        if (tdb_delete(tdb_, datum(&key, sizeof key)) != 0)
            fail("tdb_delete");
    }

    bool find(std::int32_t key, bench::value &out, std::size_t &len)
    {
        struct target {
            bench::value *out;
            std::size_t *len;
        } t{&out, &len};
        auto copy = [](TDB_DATA, TDB_DATA data, void *ctx) {
            auto *into = static_cast<target *>(ctx);
            *into->len = data.dsize / sizeof(std::int32_t);
            std::memcpy(into->out->data(), data.dptr, std::min(data.dsize, sizeof(bench::value)));
            return 0;
        };
        if (tdb_parse_record(tdb_, datum(&key, sizeof key), copy, &t) == 0)
            return true;
        if (tdb_error(tdb_) != TDB_ERR_NOEXIST)
            fail("tdb_parse_record");
        return false;
    }

    template <class F>
    void iter(F f)
    {
        auto visit = [](TDB_CONTEXT *, TDB_DATA key, TDB_DATA data, void *ctx) {
            std::int32_t k = 0;
            std::int32_t words[bench::value_words] = {};
            std::memcpy(&k, key.dptr, std::min(key.dsize, sizeof k));
            std::memcpy(words, data.dptr, std::min(data.dsize, sizeof words));
            (*static_cast<F *>(ctx))(k, words, data.dsize / sizeof(std::int32_t));
            return 0;
        };
        if (tdb_traverse_read(tdb_, visit, &f) < 0)
            fail("tdb_traverse_read");
    }

    std::size_t length()
    {
        int count = tdb_traverse_read(tdb_, nullptr, nullptr);
        if (count < 0)
            fail("tdb_traverse_read");
        return static_cast<std::size_t>(count);
    }

private:
    void store(std::int32_t key, const bench::value &v, int mode, const char *what)
    {
        if (tdb_store(tdb_, datum(&key, sizeof key), datum(v.data(), sizeof v), mode) != 0)
            fail(what);
    }
    [[noreturn]] void fail(const char *what) { throw bench::failure(std::string(what) + ": " + tdb_errorstr(tdb_)); }

    TDB_CONTEXT *tdb_ = nullptr;
};

} // namespace

int main(int argc, char **argv) { return bench::main_w1<tdb_database>(argc, argv); }
