// The C++ wrapper's exceptions (cxx/include/netshm.hpp): one class per result
// code of the C ABI, each derived from netshm::error; detail::throw_error maps
// every code the library knows to its class, and real failing calls throw
// exactly that class with their code.
#include "child_process.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.hpp>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <chrono>
#include <exception>
#include <fcntl.h>
#include <future>
#include <iterator>
#include <set>
#include <span>
#include <string>
#include <sys/resource.h>
#include <type_traits>
#include <typeinfo>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using Catch::Matchers::StartsWith;
using netshm::descriptor;
using netshm::locking;
using netshm::shm_type;
using netshm::table;
using netshm_test::scratch_names;

static_assert(std::is_base_of_v<std::exception, netshm::error>);
static_assert(std::is_base_of_v<netshm::error, netshm::not_found>);
static_assert(std::is_base_of_v<netshm::error, netshm::corrupt_file>);
static_assert(std::is_base_of_v<netshm::error, netshm::deadlock>);
static_assert(std::is_base_of_v<netshm::error, netshm::invalid_argument>);
static_assert(std::is_base_of_v<netshm::error, netshm::system_error>);
static_assert(std::is_base_of_v<netshm::error, netshm::out_of_memory>);
static_assert(std::is_base_of_v<netshm::error, netshm::self_locked>);
static_assert(std::is_base_of_v<netshm::error, netshm::closed>);
static_assert(std::is_base_of_v<netshm::error, netshm::not_supported>);
static_assert(std::is_base_of_v<netshm::error, netshm::exists>);
static_assert(std::is_base_of_v<netshm::error, netshm::too_big>);
static_assert(std::is_base_of_v<netshm::error, netshm::forked>);
static_assert(std::is_base_of_v<netshm::error, netshm::busy>);
static_assert(std::is_base_of_v<netshm::error, netshm::read_only>);
static_assert(std::is_base_of_v<netshm::error, netshm::timed_out>);

// A result code and the class the wrapper throws for it.
struct error_class {
    int code;
    const std::type_info &type;
    const char *name;
};

const error_class classes[] = {
    {NETSHM_ENOTFOUND, typeid(netshm::not_found), "not_found"},
    {NETSHM_ECORRUPT, typeid(netshm::corrupt_file), "corrupt_file"},
    {NETSHM_EDEADLK, typeid(netshm::deadlock), "deadlock"},
    {NETSHM_EINVAL, typeid(netshm::invalid_argument), "invalid_argument"},
    {NETSHM_ESYS, typeid(netshm::system_error), "system_error"},
    {NETSHM_ENOMEM, typeid(netshm::out_of_memory), "out_of_memory"},
    {NETSHM_ESELFLOCKED, typeid(netshm::self_locked), "self_locked"},
    {NETSHM_ECLOSED, typeid(netshm::closed), "closed"},
    {NETSHM_ENOTSUP, typeid(netshm::not_supported), "not_supported"},
    {NETSHM_EEXIST, typeid(netshm::exists), "exists"},
    {NETSHM_ETOOBIG, typeid(netshm::too_big), "too_big"},
    {NETSHM_EFORKED, typeid(netshm::forked), "forked"},
    {NETSHM_EBUSY, typeid(netshm::busy), "busy"},
    {NETSHM_EREADONLY, typeid(netshm::read_only), "read_only"},
    {NETSHM_ETIMEDOUT, typeid(netshm::timed_out), "timed_out"},
};

// The name of e's own class (not of a base): from `classes`, or "error".
std::string class_name(const netshm::error &e)
{
    for (const error_class &c : classes)
        if (typeid(e) == c.type)
            return c.name;
    return typeid(e) == typeid(netshm::error) ? "error" : "a class missing from this test";
}

// What `action` threw, as "<class> <code>: <message>", or "nothing thrown".
// Safe in a forked child: no Catch2 in it.
template <class Action>
std::string thrown_by(Action action)
{
    try {
        action();
    } catch (const netshm::error &e) {
        return class_name(e) + " " + std::to_string(e.code()) + ": " + e.what();
    }
    return "nothing thrown";
}

// The same text for the class and code only, to compare with StartsWith.
std::string thrown(const char *name, int code)
{
    return std::string(name) + " " + std::to_string(code) + ": ";
}

const std::vector<int32_t> one_word{1};

// A POSIX object under a unique name, removed at the end of the test.
struct scratch_object {
    scratch_names names;
    std::string name = names.fresh(NETSHM_TYPE_POSIX);
    descriptor descr = descriptor::open(shm_type::posix, name, O_RDWR | O_CREAT | O_EXCL);
};

// The bytes this process's address space spans now.
rlim_t address_space_in_use()
{
    std::FILE *statm = std::fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (statm != nullptr) {
        if (std::fscanf(statm, "%lu", &pages) != 1)
            pages = 0;
        std::fclose(statm);
    }
    return static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace

TEST_CASE("errors: throw_error throws the own class of every code the library knows", "[cxx][errors]")
{
    std::set<std::string> names;
    int codes = 0;
    // The library's codes are those netshm_strerror has a text for: a code
    // added to the C ABI without a class here fails this test.
    for (int rc = -1; rc > -100 && std::string(netshm_strerror(rc)) != "unknown error"; --rc) {
        INFO("code " << rc << " (" << netshm_strerror(rc) << ")");
        ++codes;
        const error_class *expected = nullptr;
        for (const error_class &c : classes)
            if (c.code == rc)
                expected = &c;
        REQUIRE(expected != nullptr);
        names.insert(expected->name);

        const std::string text = thrown_by([rc] { netshm::detail::throw_error(rc); });

        CHECK(text == thrown(expected->name, rc) + netshm_last_error());
    }
    CHECK(codes == static_cast<int>(std::size(classes)));
    CHECK(names.size() == std::size(classes));
}

TEST_CASE("errors: a code the wrapper does not know throws netshm::error itself", "[cxx][errors]")
{
    for (int rc : {-99, -100, INT_MIN, 1}) {
        INFO("code " << rc);
        CHECK_THAT(thrown_by([rc] { netshm::detail::throw_error(rc); }), StartsWith(thrown("error", rc)));
    }
}

TEST_CASE("errors: not_found from a missing object, name or key", "[cxx][errors]")
{
    scratch_object s;
    const std::string missing = s.names.fresh(NETSHM_TYPE_POSIX);
    table t = table::manage(s.descr, locking::record);

    CHECK(thrown_by([&] { return descriptor::open(shm_type::posix, missing, O_RDWR); }) ==
          thrown("not_found", NETSHM_ENOTFOUND) + "shm_open " + missing + ": No such file or directory");
    CHECK_THAT(thrown_by([&] { netshm::unlink(shm_type::posix, missing); }),
               StartsWith(thrown("not_found", NETSHM_ENOTFOUND)));
    CHECK_THAT(thrown_by([&] { return t.find(1); }), StartsWith(thrown("not_found", NETSHM_ENOTFOUND)));
}

TEST_CASE("errors: corrupt_file from an object that holds no table", "[cxx][errors]")
{
    scratch_object s;
    const std::string path = scratch_names::path_of(NETSHM_TYPE_POSIX, s.name);
    {
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        const std::string garbage(4096, 'Z');
        const ssize_t written = ::write(fd, garbage.data(), garbage.size());
        ::close(fd);
        REQUIRE(written == static_cast<ssize_t>(garbage.size()));
    }

    CHECK_THAT(thrown_by([&] { return table::manage(s.descr, locking::record); }),
               StartsWith(thrown("corrupt_file", NETSHM_ECORRUPT)));
}

TEST_CASE("errors: deadlock for one of two processes whose groups both upgrade a read lock", "[cxx][errors]")
{
    constexpr int32_t key = 7;
    scratch_object s;
    table t = table::manage(s.descr, locking::record);
    t.add(key, one_word);

    // Each process finds the key in a plain group (a read lock kept until the
    // group ends), meets the other, then replaces it (the upgrade): the kernel
    // refuses one of the two waits, whose group ends and lets the other finish.
    netshm_test::child other(10, [&](const netshm_test::child_channel &channel) {
        descriptor d = descriptor::open(shm_type::posix, s.name, O_RDWR);
        table mine = table::manage(d, locking::record);
        channel.say(thrown_by([&] {
            mine.group([&] {
                const std::vector<int32_t> value = mine.find(key);
                channel.say("found");
                channel.await();
                mine.replace(key, value);
            });
        }));
    });
    const std::string ours = thrown_by([&] {
        t.group([&] {
            const std::vector<int32_t> value = t.find(key);
            REQUIRE(other.line() == "found");
            other.go();
            t.replace(key, value);
        });
    });
    const std::string theirs = other.line();
    other.finish();

    INFO("this process: " << ours << "; the other one: " << theirs);
    const std::string refused = thrown("deadlock", NETSHM_EDEADLK);
    CHECK((ours.starts_with(refused) ? theirs : ours) == "nothing thrown");
    CHECK((ours.starts_with(refused) || theirs.starts_with(refused)));
}

TEST_CASE("errors: invalid_argument from the library and from the wrapper", "[cxx][errors]")
{
    scratch_object s;

    CHECK_THAT(thrown_by([&] { return descriptor::open(shm_type::posix, s.name, O_WRONLY); }),
               StartsWith(thrown("invalid_argument", NETSHM_EINVAL)));
    CHECK_THAT(thrown_by([&] { return table::manage(s.descr, locking::record, 100); }),
               StartsWith(thrown("invalid_argument", NETSHM_EINVAL)));
    CHECK(thrown_by([&] { return table::manage(s.descr, locking::record, 0, -1); }) ==
          thrown("invalid_argument", NETSHM_EINVAL) + "manage: init must be >= 0");
}

TEST_CASE("errors: system_error from a failed OS call, with its errno", "[cxx][errors]")
{
    scratch_names names;
    const std::string file = names.fresh(NETSHM_TYPE_FILE);
    descriptor::open(shm_type::file, file, O_RDWR | O_CREAT | O_EXCL).close();
    const std::string below_file = file + "/object";

    int sys_errno = 0;
    const std::string text = thrown_by([&] {
        try {
            return descriptor::open(shm_type::file, below_file, O_RDWR | O_CREAT);
        } catch (const netshm::system_error &e) {
            sys_errno = e.sys_errno();
            throw;
        }
    });

    CHECK(text == thrown("system_error", NETSHM_ESYS) + "open " + below_file + ": Not a directory");
    CHECK(sys_errno == ENOTDIR);
}

TEST_CASE("errors: out_of_memory when the table cannot be mapped", "[cxx][errors]")
{
    scratch_object s;
    s.descr.close();

    // A table for four million keys (about 130 MiB) spans far more than the
    // 16 MiB of address space the child keeps free for the call's own
    // allocations: mapping it fails with ENOMEM.
    const std::string text = netshm_test::child(20, [&]() -> std::string {
        descriptor d = descriptor::open(shm_type::posix, s.name, O_RDWR);
        rlimit limit{};
        if (::getrlimit(RLIMIT_AS, &limit) != 0)
            return "getrlimit failed";
        limit.rlim_cur = address_space_in_use() + 16 * 1024 * 1024;
        if (::setrlimit(RLIMIT_AS, &limit) != 0)
            return "setrlimit failed";
        return thrown_by([&] { return table::manage(d, locking::record, 0, 4'000'000); });
    }).finish();

    CHECK_THAT(text, StartsWith(thrown("out_of_memory", NETSHM_ENOMEM)));
}

TEST_CASE("errors: self_locked from a modification inside iter", "[cxx][errors]")
{
    scratch_object s;
    table t = table::manage(s.descr, locking::record);
    t.add(1, one_word);

    CHECK_THAT(thrown_by([&] { t.iter([&](int32_t, std::span<const int32_t>) { t.add(2, one_word); }); }),
               StartsWith(thrown("self_locked", NETSHM_ESELFLOCKED)));
    CHECK_FALSE(t.mem(2));
}

TEST_CASE("errors: closed from a table of a closed descriptor, and from empty handles", "[cxx][errors]")
{
    scratch_object s;
    table t = table::manage(s.descr, locking::record);
    table other = table::manage(s.descr, locking::record);
    table moved_to = std::move(other);

    s.descr.close();

    CHECK_THAT(thrown_by([&] { return t.find(1); }), StartsWith(thrown("closed", NETSHM_ECLOSED)));
    CHECK(thrown_by([&] { return other.length(); }) ==
          thrown("closed", NETSHM_ECLOSED) + "the handle is closed or was moved from");
    CHECK(thrown_by([&] { return s.descr.name(); }) ==
          thrown("closed", NETSHM_ECLOSED) + "the handle is closed or was moved from");
}

// NETSHM_ENOTSUP: no call fails with it on Linux, which has POSIX objects and
// every locking method; throw_error's test above covers not_supported.

TEST_CASE("errors: exists from O_CREAT | O_EXCL on an existing object", "[cxx][errors]")
{
    scratch_object s;

    CHECK(thrown_by([&] { return descriptor::open(shm_type::posix, s.name, O_RDWR | O_CREAT | O_EXCL); }) ==
          thrown("exists", NETSHM_EEXIST) + "shm_open " + s.name + ": File exists");
}

TEST_CASE("errors: too_big from a table sized beyond the format's limits", "[cxx][errors]")
{
    scratch_object s;

    CHECK_THAT(thrown_by([&] { return table::manage(s.descr, locking::record, 0, 1LL << 40); }),
               StartsWith(thrown("too_big", NETSHM_ETOOBIG)));
}

TEST_CASE("errors: forked from a table used in a forked child", "[cxx][errors]")
{
    scratch_object s;
    table t = table::manage(s.descr, locking::record);

    const std::string text = netshm_test::child(10, [&]() -> std::string {
        return thrown_by([&] { return t.length(); });
    }).finish();

    CHECK_THAT(text, StartsWith(thrown("forked", NETSHM_EFORKED)));
}

TEST_CASE("errors: busy from mutex locking on an object managed with record locking", "[cxx][errors]")
{
    scratch_object s;
    table t = table::manage(s.descr, locking::record);

    CHECK_THAT(thrown_by([&] { return table::manage(s.descr, locking::mutex); }),
               StartsWith(thrown("busy", NETSHM_EBUSY)));
}

TEST_CASE("errors: read_only from an add through a read-only descriptor", "[cxx][errors]")
{
    scratch_object s;
    table::manage(s.descr, locking::record).close();
    descriptor reader = descriptor::open(shm_type::posix, s.name, O_RDONLY);
    table t = table::manage(reader, locking::record);

    CHECK_THAT(thrown_by([&] { t.add(1, one_word); }), StartsWith(thrown("read_only", NETSHM_EREADONLY)));
    CHECK(t.length() == 0);
}

TEST_CASE("errors: timed_out from a wait for a group longer than the table's lock timeout", "[cxx][errors]")
{
    scratch_object s;
    table t = table::manage(s.descr, locking::record);
    t.set_lock_timeout(std::chrono::milliseconds(50));

    // The group keeps the object's locks on this thread; another one waits for them.
    const std::string text = t.group_write([&] {
        return std::async(std::launch::async, [&] { return thrown_by([&] { t.add(1, one_word); }); }).get();
    });
    CHECK_THAT(text, StartsWith(thrown("timed_out", NETSHM_ETIMEDOUT)));
    CHECK(t.length() == 0);
    CHECK_THAT(thrown_by([&] { t.set_lock_timeout(std::chrono::milliseconds(-1)); }),
               StartsWith(thrown("invalid_argument", NETSHM_EINVAL)));
}
