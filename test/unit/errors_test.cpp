// Result codes, their texts, the thread-local last error, the version and the
// capability queries of the C API.
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <set>
#include <string>
#include <thread>

using netshm_test::scratch_names;

// The numbers are ABI: FFI users hard-code them.
static_assert(NETSHM_OK == 0);
static_assert(NETSHM_ENOTFOUND == -1);
static_assert(NETSHM_ECORRUPT == -2);
static_assert(NETSHM_EDEADLK == -3);
static_assert(NETSHM_EINVAL == -4);
static_assert(NETSHM_ESYS == -5);
static_assert(NETSHM_ENOMEM == -6);
static_assert(NETSHM_ESELFLOCKED == -7);
static_assert(NETSHM_ECLOSED == -8);
static_assert(NETSHM_ENOTSUP == -9);
static_assert(NETSHM_EEXIST == -10);
static_assert(NETSHM_ETOOBIG == -11);
static_assert(NETSHM_EFORKED == -12);
static_assert(NETSHM_EBUSY == -13);
static_assert(NETSHM_EREADONLY == -14);
static_assert(NETSHM_ETIMEDOUT == -15);
static_assert(NETSHM_TYPE_FILE == 1 && NETSHM_TYPE_POSIX == 2);
static_assert(NETSHM_NO_LOCKING == 0 && NETSHM_RECORD_LOCKING == 1);

TEST_CASE("strerror: every result code has its own text", "[errors]")
{
    std::set<std::string> texts;
    for (int rc = NETSHM_OK; rc >= NETSHM_ETIMEDOUT; --rc) {
        INFO("code " << rc);
        const char *text = netshm_strerror(rc);
        REQUIRE(text != nullptr);
        CHECK(std::string(text) != "unknown error");
        CHECK(std::string(text) != "");
        texts.insert(text);
    }
    CHECK(texts.size() == 16);
    CHECK(std::string(netshm_strerror(NETSHM_OK)) == "success");
    CHECK(std::string(netshm_strerror(NETSHM_ENOTFOUND)) == "not found");
}

TEST_CASE("strerror: other values give \"unknown error\"", "[errors]")
{
    for (int rc : {1, 2, -16, -99, -100, INT_MIN, INT_MAX}) {
        INFO("code " << rc);
        CHECK(std::string(netshm_strerror(rc)) == "unknown error");
    }
}

TEST_CASE("last_error: names the operation, the object and the OS error", "[errors]")
{
    scratch_names scratch;
    std::string name = scratch.fresh(NETSHM_TYPE_POSIX);
    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_open(NETSHM_TYPE_POSIX, name.c_str(), O_RDWR, 0, &descr));
    CHECK(std::string(netshm_last_error()) == "shm_open " + name + ": No such file or directory");
    CHECK(netshm_last_errno() == ENOENT);
    CHECK(errno == ENOENT);
}

TEST_CASE("last_error: never NULL and private to each thread", "[errors]")
{
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_close(nullptr));
    const std::string mine = netshm_last_error();
    CHECK(mine == "netshm_close: descr is NULL");

    std::string fresh_thread_text;
    std::string other_failure;
    std::thread([&] {
        const char *text = netshm_last_error();
        fresh_thread_text = text != nullptr ? text : "(NULL)";
        netshm_chmod(nullptr, 0600);
        other_failure = netshm_last_error();
    }).join();

    CHECK(fresh_thread_text != "(NULL)");
    CHECK(other_failure == "netshm_chmod: descr is NULL");
    CHECK(std::string(netshm_last_error()) == mine);
}

TEST_CASE("last_errno: 0 after a failure that is no OS error", "[errors]")
{
    scratch_names scratch;
    std::string name = scratch.fresh(NETSHM_TYPE_POSIX);
    netshm_descr *descr = nullptr;
    REQUIRE_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_open(NETSHM_TYPE_POSIX, name.c_str(), O_RDWR, 0, &descr));
    REQUIRE(netshm_last_errno() == ENOENT);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink(NETSHM_TYPE_POSIX, "no-slash"));
    CHECK(netshm_last_errno() == 0);
}

TEST_CASE("version: the library, the header macros and the project agree", "[version]")
{
    const std::string from_macros = std::to_string(NETSHM_VERSION_MAJOR) + "." +
                                    std::to_string(NETSHM_VERSION_MINOR) + "." +
                                    std::to_string(NETSHM_VERSION_PATCH);
    REQUIRE(netshm_version() != nullptr);
    CHECK(std::string(netshm_version()) == NETSHM_VERSION_STRING);
    CHECK(std::string(NETSHM_VERSION_STRING) == from_macros);
    CHECK(std::string(NETSHM_VERSION_STRING) == NETSHM_TEST_PROJECT_VERSION);
}

TEST_CASE("supported_types: file and POSIX objects", "[capabilities]")
{
    CHECK(netshm_supported_types() == ((1u << NETSHM_TYPE_FILE) | (1u << NETSHM_TYPE_POSIX)));
}

TEST_CASE("best_locking_method: record locking for both types", "[capabilities]")
{
    CHECK(netshm_best_locking_method(NETSHM_TYPE_FILE) == NETSHM_RECORD_LOCKING);
    CHECK(netshm_best_locking_method(NETSHM_TYPE_POSIX) == NETSHM_RECORD_LOCKING);
}
