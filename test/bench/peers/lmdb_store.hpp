// The LMDB store of the benchmarks: an environment in /dev/shm (MDB_NOSUBDIR: the
// data file and its "-lock" file), the main database with MDB_INTEGERKEY.  One
// write transaction per write; finds reuse one read-only transaction
// (MDB_NOTLS) with mdb_txn_renew / mdb_txn_reset around each lookup, or around
// each batch (find_batch).  MDB_NOSYNC: the data is on tmpfs and no other
// system here syncs either.  Map size: 64 MiB + 1 KiB per key (W1 uses about
// 5 MiB).
#pragma once

#include "w1_driver.hpp"

#include <cstring>
#include <lmdb.h>
#include <span>

namespace bench_lmdb {

inline void check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS)
        throw bench::failure(std::string(what) + ": " + mdb_strerror(rc));
}

inline MDB_val datum(const void *bytes, std::size_t size) { return MDB_val{size, const_cast<void *>(bytes)}; }

class lmdb_store {
public:
    static constexpr const char *system = "lmdb";
    static std::vector<std::string> variants() { return {"nosync"}; }
    static std::string unavailable(const bench::config &) { return {}; }
    static std::string no_multi_process(const bench::config &) { return {}; }
    static std::vector<std::string> files(const bench::config &c) { return {c.base, c.base + "-lock"}; }

    lmdb_store(const bench::config &c, bool create)
    {
        check(mdb_env_create(&env_), "mdb_env_create");
        try {
            check(mdb_env_set_mapsize(env_, (std::size_t{64} << 20) + c.n * 1024), "mdb_env_set_mapsize");
            check(mdb_env_open(env_, c.base.c_str(), MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS, 0600), "mdb_env_open");
            MDB_txn *txn = nullptr;
            check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
            int rc = mdb_dbi_open(txn, nullptr, MDB_INTEGERKEY | (create ? MDB_CREATE : 0), &dbi_);
            if (rc != MDB_SUCCESS)
                mdb_txn_abort(txn);
            check(rc, "mdb_dbi_open");
            check(mdb_txn_commit(txn), "mdb_txn_commit");
            check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &reader_), "mdb_txn_begin(MDB_RDONLY)");
            mdb_txn_reset(reader_);
        } catch (...) {
            mdb_env_close(env_);
            throw;
        }
    }
    ~lmdb_store()
    {
        mdb_txn_abort(reader_);
        mdb_env_close(env_);
    }
    lmdb_store(const lmdb_store &) = delete;
    lmdb_store &operator=(const lmdb_store &) = delete;

    void add(std::int32_t key, const bench::value &v) { put(key, v, MDB_NOOVERWRITE); }
    void replace(std::int32_t key, const bench::value &v) { put(key, v, 0); }
    void remove(std::int32_t key)
    {
        MDB_txn *txn = begin_write();
        MDB_val k = datum(&key, sizeof key);
        commit_or_abort(txn, mdb_del(txn, dbi_, &k, nullptr), "mdb_del");
    }

    bool find(std::int32_t key, bench::value &out, std::size_t &len)
    {
        check(mdb_txn_renew(reader_), "mdb_txn_renew");
        MDB_val k = datum(&key, sizeof key), data;
        int rc = mdb_get(reader_, dbi_, &k, &data);
        if (rc == MDB_SUCCESS) {
            len = data.mv_size / sizeof(std::int32_t);
            std::memcpy(out.data(), data.mv_data, std::min(data.mv_size, sizeof out));
        }
        mdb_txn_reset(reader_);
        if (rc == MDB_NOTFOUND)
            return false;
        check(rc, "mdb_get");
        return true;
    }

    // One read transaction for all of `keys`, each value copied into out[i]
    // as a user would write it; false if one is absent.
    bool find_batch(std::span<const std::int32_t> keys, bench::value *out)
    {
        check(mdb_txn_renew(reader_), "mdb_txn_renew");
        int rc = MDB_SUCCESS;
        for (std::size_t i = 0; i < keys.size() && rc == MDB_SUCCESS; ++i) {
            MDB_val k = datum(&keys[i], sizeof keys[i]), data;
            rc = mdb_get(reader_, dbi_, &k, &data);
            if (rc == MDB_SUCCESS)
                std::memcpy(out[i].data(), data.mv_data, std::min(data.mv_size, sizeof out[i]));
        }
        mdb_txn_reset(reader_);
        if (rc == MDB_NOTFOUND)
            return false;
        check(rc, "mdb_get");
        return true;
    }

    template <class F>
    void iter(F f)
    {
        check(mdb_txn_renew(reader_), "mdb_txn_renew");
        MDB_cursor *cursor = nullptr;
        int rc = mdb_cursor_open(reader_, dbi_, &cursor);
        if (rc == MDB_SUCCESS) {
            MDB_val k, data;
            while ((rc = mdb_cursor_get(cursor, &k, &data, MDB_NEXT)) == MDB_SUCCESS) {
                std::int32_t key = 0;
                std::int32_t words[bench::value_words] = {};
                std::memcpy(&key, k.mv_data, std::min(k.mv_size, sizeof key));
                std::memcpy(words, data.mv_data, std::min(data.mv_size, sizeof words));
                f(key, words, data.mv_size / sizeof(std::int32_t));
            }
            mdb_cursor_close(cursor);
        }
        mdb_txn_reset(reader_);
        if (rc != MDB_NOTFOUND)
            check(rc, "mdb_cursor_get");
    }

    std::size_t length()
    {
        check(mdb_txn_renew(reader_), "mdb_txn_renew");
        MDB_stat stat;
        int rc = mdb_stat(reader_, dbi_, &stat);
        mdb_txn_reset(reader_);
        check(rc, "mdb_stat");
        return stat.ms_entries;
    }

private:
    MDB_txn *begin_write()
    {
        MDB_txn *txn = nullptr;
        check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
        return txn;
    }
    void commit_or_abort(MDB_txn *txn, int rc, const char *what)
    {
        if (rc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            check(rc, what);
        }
        check(mdb_txn_commit(txn), "mdb_txn_commit");
    }
    void put(std::int32_t key, const bench::value &v, unsigned flags)
    {
        MDB_txn *txn = begin_write();
        MDB_val k = datum(&key, sizeof key), data = datum(v.data(), sizeof v);
        commit_or_abort(txn, mdb_put(txn, dbi_, &k, &data, flags), "mdb_put");
    }

    MDB_env *env_ = nullptr;
    MDB_dbi dbi_ = 0;
    MDB_txn *reader_ = nullptr;
};

} // namespace bench_lmdb
