// Runs one table file through manage and every read and write operation of
// the C API and checks each result: only NETSHM_OK, NETSHM_ENOTFOUND (for a
// missing key) and NETSHM_ECORRUPT may come back, manage may also refuse a
// page size other than the table's, and an ECORRUPT message names the page.
// netshm_check runs before and after the writes: it reports problems, never
// fails, netshm_stat agrees with it, and a table it finds sound gives no
// ECORRUPT to any operation until the next check.  At the end of a writable
// pass netshm_repair runs: it returns OK or ECORRUPT, and after OK
// netshm_check finds the table sound.
// Everything read is touched, so a bad pointer or mapping shows under ASan or
// as a crash.  No Catch2 here: this runs in forked children.
#pragma once

#include "mutations.hpp"

#include <netshm.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace corruption {

// Counters of one run, summed over files (plain data: it lives in memory
// shared with the forked children).
struct run_stats {
    uint64_t files;
    uint64_t manage_ok, manage_corrupt, manage_other_pagesize, manage_readonly_empty;
    uint64_t calls, ok, not_found, corrupt;
    uint64_t checked_sound, checked_damaged, problems;
    uint64_t repaired, repair_refused;
};

// Where a violation is reported: bad_result is a result code that must not
// come back, size_limit a NETSHM_ETOOBIG (a damaged table claiming that a
// size limit was reached), bad_message an ECORRUPT message naming no page.
class findings {
public:
    virtual ~findings() = default;
    virtual void bad_result(const std::string &text) = 0;
    virtual void size_limit(const std::string &text) = 0;
    virtual void bad_message(const std::string &text) = 0;
};

class exerciser {
public:
    // `shm_name`: the POSIX object each file is written to in turn.
    exerciser(std::string shm_name, findings &sink, run_stats &stats)
        : name_(std::move(shm_name)), path_("/dev/shm" + name_), sink_(sink), stats_(stats)
    {
        devnull_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    ~exerciser()
    {
        if (devnull_ >= 0)
            ::close(devnull_);
        netshm_unlink(NETSHM_TYPE_POSIX, name_.c_str());
    }
    exerciser(const exerciser &) = delete;
    exerciser &operator=(const exerciser &) = delete;

    // Returns false if the file could not even be written.
    bool run(const mutated_file &file, uint64_t seed)
    {
        rng_.seed(seed);
        file_ = &file;
        ++stats_.files;
        if (!write_file(file.bytes))
            return false;
        keys_ = file.base->keys;
        std::shuffle(keys_.begin(), keys_.end(), rng_);
        if (keys_.size() > 10)
            keys_.resize(10);
        keys_.push_back(0);
        keys_.push_back(static_cast<int32_t>(rng_()));
        if (below(3) == 0)
            pass(true);
        pass(false);
        return true;
    }

private:
    uint64_t below(uint64_t n) { return rng_() % n; }

    bool write_file(const std::string &bytes)
    {
        const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return false;
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0 && errno != EINTR)
                break;
            if (n > 0)
                done += static_cast<size_t>(n);
        }
        ::close(fd);
        return done == bytes.size();
    }

    std::string where(const char *operation, int rc) const
    {
        return std::string(operation) + " returned " + std::to_string(rc) + " (" + netshm_strerror(rc) +
               "): " + netshm_last_error() + "\n      file: " + file_->description;
    }

    // Checks a result against the codes allowed for it.
    void check(const char *operation, int rc, bool may_be_missing = false)
    {
        ++stats_.calls;
        if (rc == NETSHM_OK) {
            ++stats_.ok;
        } else if (rc == NETSHM_ENOTFOUND && may_be_missing) {
            ++stats_.not_found;
        } else if (rc == NETSHM_ECORRUPT) {
            ++stats_.corrupt;
            check_message(operation, rc);
            if (sound_)
                sink_.bad_result(where(operation, rc) + "\n      but netshm_check found the table sound");
        } else if (rc == NETSHM_ETOOBIG) {
            sink_.size_limit(where(operation, rc));
        } else {
            sink_.bad_result(where(operation, rc));
        }
    }

    // An ECORRUPT message names the page it is about, unless it is about
    // the object's size.
    void check_message(const char *operation, int rc)
    {
        const std::string message = netshm_last_error();
        if (message.find("page") == std::string::npos && message.find(" bytes") == std::string::npos)
            sink_.bad_message(where(operation, rc));
    }

    void pass(bool read_only)
    {
        sound_ = false;
        netshm_descr *descr = nullptr;
        const int open_rc = netshm_open(NETSHM_TYPE_POSIX, name_.c_str(), read_only ? O_RDONLY : O_RDWR, 0, &descr);
        if (open_rc != NETSHM_OK) {
            sink_.bad_result(where("netshm_open", open_rc));
            return;
        }
        const netshm_locking locking = below(2) ? NETSHM_RECORD_LOCKING : NETSHM_NO_LOCKING;
        const unsigned pagesize = below(2) ? file_->base->pagesize : 0u;
        netshm_table *table = nullptr;
        const int rc = netshm_manage(descr, locking, pagesize, -1, &table);
        ++stats_.calls;
        const std::string message = netshm_last_error();
        if (rc == NETSHM_OK) {
            ++stats_.manage_ok;
            ++stats_.ok;
            check_and_stat(table);
            reads(table);
            if (!read_only) {
                writes(table);
                check_and_stat(table);
                reads(table);
                repair(table);
            }
            netshm_table_close(table);
        } else if (rc == NETSHM_ECORRUPT) {
            ++stats_.manage_corrupt;
            ++stats_.corrupt;
            check_message("manage", rc);
        } else if (rc == NETSHM_EINVAL && pagesize != 0 && message.find("has page size") != std::string::npos) {
            ++stats_.manage_other_pagesize;
        } else if (rc == NETSHM_EREADONLY && read_only && file_->bytes.empty()) {
            ++stats_.manage_readonly_empty;
        } else {
            sink_.bad_result(where(read_only ? "manage (read-only)" : "manage", rc));
        }
        netshm_close(descr);
    }

    // Runs netshm_check and netshm_stat; remembers whether the table is sound.
    void check_and_stat(netshm_table *t)
    {
        sound_ = false;
        const int problems = netshm_check(
            t, [](const netshm_problem *p, void *ctx) -> int { return static_cast<exerciser *>(ctx)->inspect(*p); },
            this);
        ++stats_.calls;
        if (problems < 0) {
            sink_.bad_result(where("check", problems));
            return;
        }
        ++stats_.ok;
        stats_.problems += static_cast<uint64_t>(problems);
        ++(problems == 0 ? stats_.checked_sound : stats_.checked_damaged);
        netshm_stats s{};
        s.struct_size = sizeof s;
        const int rc = netshm_stat(t, &s);
        if ((rc == NETSHM_OK) != (problems == 0))
            sink_.bad_result(where("stat", rc) + "\n      but netshm_check found " + std::to_string(problems) +
                             " problems");
        check("stat", rc);
        if (rc == NETSHM_OK)
            touch(reinterpret_cast<const int32_t *>(&s), sizeof s / 4);
        sound_ = problems == 0;
    }

    // Repair: OK and then sound, or ECORRUPT (a descriptor it cannot find the
    // pages by) naming the page; the table is read again afterwards.
    void repair(netshm_table *t)
    {
        netshm_repair_report report{};
        report.struct_size = sizeof report;
        const int rc = netshm_repair(t, &report);
        check("repair", rc);
        if (rc != NETSHM_OK) {
            ++stats_.repair_refused;
            return;
        }
        ++stats_.repaired;
        const int problems = netshm_check(t, nullptr, nullptr);
        if (problems != 0)
            sink_.bad_result(where("repair", rc) + "\n      but netshm_check found " + std::to_string(problems) +
                             " problems afterwards");
        sound_ = problems == 0;
        size_t length = 0;
        if (netshm_length(t, &length) != NETSHM_OK || length != report.bindings_kept)
            sink_.bad_result(where("repair", rc) + "\n      but the length is not the bindings kept");
        reads(t);
    }

    // A problem is of a known kind and its message names its page.
    int inspect(const netshm_problem &p)
    {
        const std::string message = p.message;
        const std::string page = "page " + std::to_string(p.page) + ":";
        const std::string pages = "pages " + std::to_string(p.page) + "-";
        const bool named = p.page < 0 ? message.find(" bytes") != std::string::npos
                                      : message.rfind(page, 0) == 0 || message.rfind(pages, 0) == 0;
        if (p.kind < NETSHM_PROBLEM_MASTER || p.kind > NETSHM_PROBLEM_TAIL || p.page < -1 || !named)
            sink_.bad_message("check reported kind " + std::to_string(p.kind) + " at page " +
                              std::to_string(p.page) + ": " + message + "\n      file: " + file_->description);
        return 0;
    }

    void reads(netshm_table *t)
    {
        size_t length = 0;
        check("length", netshm_length(t, &length));
        bool find_corrupt = false;
        for (int32_t key : keys_) {
            const int mem = netshm_mem(t, key);
            if (mem == 0 || mem == 1) {
                ++stats_.calls;
                ++stats_.ok;
            } else {
                check("mem", mem);
            }
            int32_t *value = nullptr;
            size_t len = 0;
            const int found = netshm_find(t, key, &value, &len);
            check("find", found, true);
            find_corrupt = find_corrupt || found == NETSHM_ECORRUPT;
            if (found == NETSHM_OK)
                touch(value, len);
            netshm_free(value);
            // First asking for the length, then with room for it.
            const int needed = netshm_find_into(t, key, nullptr, 0, &len);
            if (needed == NETSHM_ETOOBIG) {
                ++stats_.calls;
                ++stats_.ok;
                buffer_.resize(std::max(buffer_.size(), len));
                check("find_into", netshm_find_into(t, key, buffer_.data(), buffer_.size(), &len), true);
            } else {
                check("find_into", needed, true);
            }
            check("find_all", netshm_find_all(
                                  t, key,
                                  [](const int32_t *v, size_t n, void *ctx) -> int {
                                      static_cast<exerciser *>(ctx)->touch(v, n);
                                      return 0;
                                  },
                                  this));
            check("find_blocks", netshm_find_blocks(
                                     t, key,
                                     [](const int32_t *frag, size_t n, void *ctx) -> int {
                                         auto *self = static_cast<exerciser *>(ctx);
                                         self->touch(frag, n);
                                         return self->block_answer();
                                     },
                                     this));
        }
        find_many(t, find_corrupt);
        check("iter", netshm_iter(
                          t,
                          [](int32_t, const int32_t *v, size_t n, void *ctx) -> int {
                              static_cast<exerciser *>(ctx)->touch(v, n);
                              return 0;
                          },
                          this));
        check("iter_keys", netshm_iter_keys(
                               t, [](int32_t k, void *ctx) -> int { return static_cast<exerciser *>(ctx)->touch(&k, 1), 0; },
                               this));
        check("dump", netshm_dump(t, devnull_));
        int32_t *base = nullptr;
        size_t pages = 0, words = 0;
        const int rc = netshm_memory(t, &base, &pages, &words);
        check("memory", rc);
        if (rc == NETSHM_OK)
            touch(base, pages * words);
    }

    // netshm_find_many of every key: NETSHM_ECORRUPT exactly when a find of
    // one of them was, as the same keys read one at a time.
    void find_many(netshm_table *t, bool find_corrupt)
    {
        std::vector<netshm_found> found(keys_.size());
        size_t needed = 0;
        int rc = netshm_find_many(t, keys_.data(), keys_.size(), found.data(), nullptr, 0, &needed);
        if (rc == NETSHM_ETOOBIG) {
            buffer_.resize(std::max(buffer_.size(), needed));
            rc = netshm_find_many(t, keys_.data(), keys_.size(), found.data(), buffer_.data(), buffer_.size(), &needed);
        }
        check("find_many", rc);
        if ((rc == NETSHM_ECORRUPT) != find_corrupt)
            sink_.bad_result(where("find_many", rc) + (find_corrupt
                                                           ? "\n      but a find of one of its keys was ECORRUPT"
                                                           : "\n      but no find of its keys was"));
        if (rc == NETSHM_OK)
            for (const netshm_found &f : found)
                touch(buffer_.data() + f.offset, f.len);
    }

    void writes(netshm_table *t)
    {
        for (size_t i = 0; i < keys_.size() && i < 4; ++i) {
            check("write_blocks", netshm_write_blocks(
                                      t, NETSHM_OP_REMOVE_BINDING, keys_[i],
                                      [](int32_t *frag, size_t n, void *ctx) -> int {
                                          auto *self = static_cast<exerciser *>(ctx);
                                          for (size_t j = 0; frag != nullptr && j < n; ++j)
                                              frag[j] ^= 1;
                                          const int answer = self->block_answer();
                                          return answer == NETSHM_BREAK && self->below(2) ? NETSHM_REMOVE_BINDING : answer;
                                      },
                                      this));
        }
        const std::vector<int32_t> value(300, 17);
        const int32_t key = keys_[below(keys_.size())];
        check("add", netshm_add(t, key, value.data(), below(5)));
        check("add", netshm_add(t, static_cast<int32_t>(rng_()), value.data(), 1 + below(value.size())));
        check("replace", netshm_replace(t, keys_[below(keys_.size())], value.data(), below(value.size())));
        check("replace", netshm_replace(t, static_cast<int32_t>(rng_()), value.data(), 0));
        check("remove", netshm_remove(t, keys_[below(keys_.size())]));
        check("remove", netshm_remove(t, static_cast<int32_t>(rng_())));
        if (below(4) == 0) {
            // Enough new keys to grow the hash table: a rehash of what is there.
            const int32_t start = static_cast<int32_t>(rng_());
            for (int32_t i = 0; i < 40; ++i)
                check("add", netshm_add(t, start + i * 31, value.data(), below(3)));
        }
    }

    // CONTINUE mostly, sometimes NEXT or BREAK.
    int block_answer()
    {
        const uint64_t r = below(16);
        return r == 0 ? NETSHM_NEXT : r == 1 ? NETSHM_BREAK : NETSHM_CONTINUE;
    }

    // Reads every word, so that a bad pointer cannot go unnoticed.
    void touch(const int32_t *words, size_t n)
    {
        int32_t sum = 0;
        for (size_t i = 0; words != nullptr && i < n; ++i)
            sum = static_cast<int32_t>(static_cast<uint32_t>(sum) + static_cast<uint32_t>(words[i]));
        sink_value_ = sum;
    }

    std::string name_;
    std::string path_;
    findings &sink_;
    run_stats &stats_;
    int devnull_ = -1;
    std::mt19937_64 rng_;
    const mutated_file *file_ = nullptr;
    std::vector<int32_t> keys_;
    std::vector<int32_t> buffer_;
    volatile int32_t sink_value_ = 0;
    // The last netshm_check found the table sound.
    bool sound_ = false;
};

} // namespace corruption
