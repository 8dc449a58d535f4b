// Helpers of the Catch2 tests: exact result-code checks, and scratch object
// names whose objects are removed when the test ends.
#pragma once

#include <catch2/catch.hpp>
#include <netshm.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <unistd.h>

// Checks that `expr` returns exactly `code`; a mismatch prints the result, its
// text and netshm_last_error().
#define NETSHM_TEST_RESULT_(assertion, code, expr)                                                \
    do {                                                                                           \
        const int netshm_test_rc = (expr);                                                         \
        INFO(#expr " returned " << netshm_test_rc << " (" << netshm_strerror(netshm_test_rc)      \
                                << "); netshm_last_error: " << netshm_last_error());               \
        assertion(netshm_test_rc == (code));                                                       \
    } while (false)

#define CHECK_NETSHM_ERR(code, expr) NETSHM_TEST_RESULT_(CHECK, code, expr)
#define REQUIRE_NETSHM_ERR(code, expr) NETSHM_TEST_RESULT_(REQUIRE, code, expr)
#define REQUIRE_NETSHM_OK(expr) REQUIRE_NETSHM_ERR(NETSHM_OK, expr)

namespace netshm_test {

// A number from the environment (decimal, 0x hex or 0 octal), or the fallback.
inline unsigned long long env_number(const char *name, unsigned long long fallback)
{
    const char *text = std::getenv(name);
    return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 0) : fallback;
}

// splitmix64's finaliser: well-spread seeds from consecutive numbers.
inline std::uint64_t mix(std::uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct descr_closer {
    void operator()(netshm_descr *descr) const noexcept { netshm_close(descr); }
};
// A C handle closed at scope exit, so that a failed REQUIRE leaks nothing.
using descr_ptr = std::unique_ptr<netshm_descr, descr_closer>;

// Opens an object, requiring success.
inline descr_ptr open_ok(netshm_type type, const std::string &name, int oflags, unsigned mode = 0600)
{
    netshm_descr *descr = nullptr;
    REQUIRE_NETSHM_OK(netshm_open(type, name.c_str(), oflags, mode, &descr));
    REQUIRE(descr != nullptr);
    return descr_ptr(descr);
}

// The system calls the library names in its messages about objects of `type`.
struct table_closer {
    void operator()(netshm_table *table) const noexcept { netshm_table_close(table); }
};
using table_ptr = std::unique_ptr<netshm_table, table_closer>;

// Manages `descr` (with record locking unless told), requiring success.
inline table_ptr manage_ok(netshm_descr *descr, unsigned pagesize = 0, long long init = -1,
                           netshm_locking locking = NETSHM_RECORD_LOCKING)
{
    netshm_table *table = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(descr, locking, pagesize, init, &table));
    return table_ptr(table);
}

inline std::string open_call(netshm_type type)
{
    return type == NETSHM_TYPE_POSIX ? "shm_open" : "open";
}
inline std::string unlink_call(netshm_type type)
{
    return type == NETSHM_TYPE_POSIX ? "shm_unlink" : "unlink";
}

// Names for test objects, unique to this process and this instance.  At scope
// exit every object made under them is removed, including those that
// netshm_create_unique derived from unique_template(): the files with their
// temporary folder, the POSIX objects by their name prefix in /dev/shm.
class scratch_names {
public:
    scratch_names()
        : prefix_("netshm-test-" + std::to_string(::getpid()) + "-" +
                  std::to_string(instances_++) + "-"),
          // Canonical, so that it compares equal to what /proc/self/fd links show.
          dir_(std::filesystem::canonical(std::filesystem::temp_directory_path()) / prefix_)
    {
        // A folder of this name is a leftover of a dead process that had our pid.
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directory(dir_);
        // Searchable by all, so that only the objects' own modes decide access.
        std::filesystem::permissions(dir_, std::filesystem::perms::owner_all |
                                               std::filesystem::perms::group_exec |
                                               std::filesystem::perms::others_exec);
    }

    ~scratch_names()
    {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        for (const auto &entry : std::filesystem::directory_iterator(shm_dir, ignored)) {
            std::string file = entry.path().filename().string();
            if (file.starts_with(prefix_))
                std::filesystem::remove(entry.path(), ignored);
        }
    }

    scratch_names(const scratch_names &) = delete;
    scratch_names &operator=(const scratch_names &) = delete;

    // A name for an object of `type` that does not exist yet.
    std::string fresh(netshm_type type)
    {
        std::string base = prefix_ + std::to_string(next_++);
        return type == NETSHM_TYPE_POSIX ? "/" + base : (dir_ / base).string();
    }

    // A template for netshm_create_unique: a fresh name ending in six 'X'.
    std::string unique_template(netshm_type type) { return fresh(type) + "-XXXXXX"; }

    // Where the object lives in the file system.
    static std::string path_of(netshm_type type, const std::string &name)
    {
        return type == NETSHM_TYPE_POSIX ? shm_dir + name : name;
    }

private:
    static inline const std::string shm_dir = "/dev/shm";
    static inline std::atomic<unsigned> instances_ = 0;

    std::string prefix_;
    std::filesystem::path dir_;
    unsigned next_ = 0;
};

} // namespace netshm_test
