// The C++ wrapper's objects: netshm::descriptor, netshm::unlink and the
// exception types they throw.
#include "netshm_test_helpers.hpp"
#include "os_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.hpp>

#include <cerrno>
#include <exception>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <type_traits>
#include <typeinfo>
#include <utility>

using netshm::descriptor;
using netshm::shm_type;
using netshm_test::exists;
using netshm_test::fd_open_on;
using netshm_test::nobody;
using netshm_test::run_as_nobody;
using netshm_test::scratch_names;
using netshm_test::stat_of;

static_assert(!std::is_copy_constructible_v<descriptor>);
static_assert(!std::is_copy_assignable_v<descriptor>);
static_assert(std::is_nothrow_move_constructible_v<descriptor>);
static_assert(std::is_nothrow_move_assignable_v<descriptor>);
static_assert(std::is_nothrow_destructible_v<descriptor>);
static_assert(std::is_nothrow_default_constructible_v<descriptor>);
static_assert(!std::is_convertible_v<descriptor, bool>, "operator bool is explicit");
static_assert(!std::is_convertible_v<netshm_descr *, descriptor>, "adopting a handle is explicit");

static_assert(std::is_base_of_v<std::exception, netshm::error>);
static_assert(std::is_base_of_v<netshm::error, netshm::not_found>);
static_assert(std::is_base_of_v<netshm::error, netshm::corrupt_file>);
static_assert(std::is_base_of_v<netshm::error, netshm::deadlock>);
static_assert(std::is_base_of_v<netshm::error, netshm::invalid_argument>);
static_assert(std::is_base_of_v<netshm::error, netshm::self_locked>);
static_assert(std::is_base_of_v<netshm::error, netshm::system_error>);

namespace {

netshm_type c_type(shm_type type)
{
    return static_cast<netshm_type>(type);
}

std::string path_of(shm_type type, const std::string &name)
{
    return scratch_names::path_of(c_type(type), name);
}

std::string open_call(shm_type type)
{
    return netshm_test::open_call(c_type(type));
}

// What `action` threw, as "<exception type> <code> <message>" (system_error
// adds its errno), or "nothing thrown".
template <class Action>
std::string thrown_by(Action action)
{
    try {
        action();
    } catch (const netshm::system_error &e) {
        return "system_error " + std::to_string(e.code()) + " errno " + std::to_string(e.sys_errno()) +
               " " + e.what();
    } catch (const netshm::error &e) {
        const std::type_info &type = typeid(e);
        const char *kind = type == typeid(netshm::not_found)          ? "not_found"
                           : type == typeid(netshm::invalid_argument) ? "invalid_argument"
                           : type == typeid(netshm::exists)           ? "exists"
                           : type == typeid(netshm::closed)           ? "closed"
                           : type == typeid(netshm::error)            ? "error"
                                                                       : "another error type";
        return std::string(kind) + " " + std::to_string(e.code()) + " " + e.what();
    }
    return "nothing thrown";
}

} // namespace

TEST_CASE("descriptor: open and create_unique give a live handle", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    const std::string name = scratch.fresh(c_type(type));

    descriptor created = descriptor::open(type, name, O_RDWR | O_CREAT | O_EXCL, 0640);
    descriptor unique = descriptor::create_unique(type, scratch.unique_template(c_type(type)));

    CHECK(static_cast<bool>(created));
    CHECK(created.name() == name);
    CHECK(created.type() == type);
    CHECK(std::string(netshm_name(created.handle())) == name);
    CHECK((stat_of(path_of(type, name)).st_mode & 07777) == 0640);

    CHECK(static_cast<bool>(unique));
    CHECK(unique.type() == type);
    CHECK((stat_of(path_of(type, unique.name())).st_mode & 07777) == 0600);
}

TEST_CASE("descriptor: failures throw the exception type of their code", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    const std::string name = scratch.fresh(c_type(type));

    CHECK(thrown_by([&] { return descriptor::open(type, name, O_RDWR); }) ==
          "not_found -1 " + open_call(type) + " " + name + ": No such file or directory");

    descriptor::open(type, name, O_RDWR | O_CREAT).close();
    CHECK(thrown_by([&] { return descriptor::open(type, name, O_RDWR | O_CREAT | O_EXCL); }) ==
          "exists -10 " + open_call(type) + " " + name + ": File exists");
    CHECK(thrown_by([&] { return descriptor::open(type, name, O_WRONLY); }) ==
          "invalid_argument -4 open " + name + ": access mode must be O_RDONLY or O_RDWR");
    CHECK(thrown_by([&] { return descriptor::create_unique(type, name + "-XXXXXX", 010000); }) ==
          "invalid_argument -4 open " + name + "-XXXXXX: mode 4096 has bits outside 07777");
    CHECK(thrown_by([&] { return descriptor::open(static_cast<shm_type>(7), name, O_RDWR); }) ==
          "invalid_argument -4 unknown object type 7");
}

TEST_CASE("descriptor: a bad POSIX name throws invalid_argument", "[cxx]")
{
    CHECK(thrown_by([] { return descriptor::open(shm_type::posix, "no-slash", O_RDWR | O_CREAT); }) ==
          "invalid_argument -4 POSIX object name \"no-slash\" must be '/' followed by at least one "
          "character");
}

TEST_CASE("descriptor: permission denied throws system_error with EACCES", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    const std::string name = scratch.fresh(c_type(type));
    descriptor::open(type, name, O_RDWR | O_CREAT, 0600).close();

    std::string report = run_as_nobody([&] {
        return thrown_by([&] { return descriptor::open(type, name, O_RDWR); });
    });

    CHECK(report == "system_error -5 errno " + std::to_string(EACCES) + " " + open_call(type) + " " +
                        name + ": Permission denied");
}

TEST_CASE("descriptor: chmod and chown change the object", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    descriptor descr = descriptor::create_unique(type, scratch.unique_template(c_type(type)));
    const std::string path = path_of(type, descr.name());

    descr.chmod(0604);
    descr.chown(nobody, nobody);

    struct stat st = stat_of(path);
    CHECK((st.st_mode & 07777) == 0604);
    CHECK(st.st_uid == nobody);
    CHECK(st.st_gid == nobody);
    CHECK(thrown_by([&] { descr.chmod(010000); }) ==
          "invalid_argument -4 chmod " + descr.name() + ": mode 4096 has bits outside 07777");
    CHECK(thrown_by([&] { descr.chown(-2, -1); }) ==
          "invalid_argument -4 chown " + descr.name() +
              ": user and group ids must be -1 or between 0 and 2^32-2");
}

TEST_CASE("descriptor: close releases the object; a second close does nothing", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    descriptor descr = descriptor::create_unique(type, scratch.unique_template(c_type(type)));
    const std::string path = path_of(type, descr.name());
    REQUIRE(fd_open_on(path) >= 0);

    descr.close();
    CHECK(fd_open_on(path) == -1);
    CHECK_FALSE(static_cast<bool>(descr));
    CHECK(descr.handle() == nullptr);

    CHECK_NOTHROW(descr.close());
    CHECK(thrown_by([&] { (void)descr.name(); }) ==
          "closed -8 the handle is closed or was moved from");
}

TEST_CASE("descriptor: the destructor closes the object", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    std::string path;
    {
        descriptor descr = descriptor::create_unique(type, scratch.unique_template(c_type(type)));
        path = path_of(type, descr.name());
        REQUIRE(fd_open_on(path) >= 0);
    }
    CHECK(fd_open_on(path) == -1);
}

TEST_CASE("descriptor: adopts a handle from the C API", "[cxx]")
{
    scratch_names scratch;
    const std::string name = scratch.fresh(NETSHM_TYPE_POSIX);
    netshm_descr *handle = nullptr;
    REQUIRE_NETSHM_OK(netshm_open(NETSHM_TYPE_POSIX, name.c_str(), O_RDWR | O_CREAT, 0600, &handle));
    {
        descriptor descr(handle);
        CHECK(descr.handle() == handle);
        CHECK(descr.name() == name);
    }
    CHECK(fd_open_on(scratch_names::path_of(NETSHM_TYPE_POSIX, name)) == -1);
}

TEST_CASE("descriptor: moving transfers the handle and empties the source", "[cxx]")
{
    scratch_names scratch;
    descriptor source = descriptor::create_unique(shm_type::posix, scratch.unique_template(NETSHM_TYPE_POSIX));
    netshm_descr *handle = source.handle();
    const std::string name = source.name();

    SECTION("by construction")
    {
        descriptor target(std::move(source));
        CHECK(target.handle() == handle);
        CHECK(target.name() == name);
    }
    SECTION("by assignment, closing what the target held")
    {
        descriptor target = descriptor::create_unique(shm_type::posix,
                                                      scratch.unique_template(NETSHM_TYPE_POSIX));
        const std::string old_path = path_of(shm_type::posix, target.name());
        REQUIRE(fd_open_on(old_path) >= 0);

        target = std::move(source);

        CHECK(fd_open_on(old_path) == -1);
        CHECK(target.handle() == handle);
        CHECK(target.name() == name);
    }

    CHECK_FALSE(static_cast<bool>(source));
    CHECK(source.handle() == nullptr);
    CHECK(thrown_by([&] { (void)source.name(); }) == "closed -8 the handle is closed or was moved from");
    CHECK(thrown_by([&] { (void)source.type(); }) == "closed -8 the handle is closed or was moved from");
    CHECK(thrown_by([&] { source.chmod(0600); }) == "closed -8 the handle is closed or was moved from");
    CHECK(thrown_by([&] { source.chown(-1, -1); }) == "closed -8 the handle is closed or was moved from");
    CHECK_NOTHROW(source.close());
}

TEST_CASE("descriptor: a default-constructed descriptor is empty", "[cxx]")
{
    descriptor empty;
    CHECK_FALSE(static_cast<bool>(empty));
    CHECK(empty.handle() == nullptr);
    CHECK_NOTHROW(empty.close());
    CHECK(thrown_by([&] { (void)empty.name(); }) == "closed -8 the handle is closed or was moved from");
}

TEST_CASE("unlink: removes the object; a missing one throws not_found", "[cxx]")
{
    const shm_type type = GENERATE(shm_type::file, shm_type::posix);
    scratch_names scratch;
    const std::string name = scratch.fresh(c_type(type));
    descriptor::open(type, name, O_RDWR | O_CREAT).close();

    netshm::unlink(type, name);

    CHECK_FALSE(exists(path_of(type, name)));
    CHECK(thrown_by([&] { netshm::unlink(type, name); }) ==
          "not_found -1 " + netshm_test::unlink_call(c_type(type)) + " " + name +
              ": No such file or directory");
}
