// What netshm_open refuses to protect data and processes: symbolic links
// where an object may be created or truncated, objects that are not regular
// files or shm objects (at once, never hanging), and O_TRUNC on an object
// that a table is open on.
#include "child_process.hpp"
#include "netshm_test_helpers.hpp"
#include "os_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using netshm_test::child;
using netshm_test::child_channel;
using netshm_test::descr_ptr;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::scratch_names;
using netshm_test::stat_of;
using netshm_test::table_ptr;

namespace {

void write_text(const std::string &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read_text(const std::string &path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string text = netshm_test::detail::read_all(fd);
    ::close(fd);
    return text;
}

// "<result> <errno>: <message>" of netshm_open, run in a child process so that
// an open that hangs fails the test (the child's alarm) instead of blocking.
std::string open_outcome_in_child(netshm_type type, const std::string &name, int oflags)
{
    child opener(5, [&]() -> std::string {
        netshm_descr *descr = nullptr;
        int rc = netshm_open(type, name.c_str(), oflags, 0600, &descr);
        std::string outcome = std::to_string(rc) + " " + std::to_string(netshm_last_errno()) + ": " +
                              netshm_last_error();
        if (descr != nullptr)
            netshm_close(descr);
        return outcome;
    });
    std::optional<std::string> outcome = opener.finish_unless_hung();
    INFO("netshm_open of " << name << " with flags " << oflags);
    REQUIRE(outcome.has_value());
    return *outcome;
}

std::string refused_as(int code, int sys_errno, const std::string &text)
{
    return std::to_string(code) + " " + std::to_string(sys_errno) + ": " + text;
}

// An object of `type` under a scratch name, made empty.
struct scratch_object {
    explicit scratch_object(netshm_type object_type)
        : type(object_type), name(scratch.fresh(type)), path(scratch_names::path_of(type, name))
    {
        open_ok(type, name, O_RDWR | O_CREAT);
    }
    scratch_names scratch;
    netshm_type type;
    std::string name;
    std::string path;
};

} // namespace

TEST_CASE("open: O_CREAT and O_TRUNC never follow a symbolic link to a file", "[descr][safety]")
{
    const int oflags = GENERATE(O_RDWR | O_CREAT, O_RDONLY | O_CREAT, O_RDWR | O_TRUNC, O_RDWR | O_CREAT | O_TRUNC);
    CAPTURE(oflags);
    scratch_names scratch;
    const std::string target = scratch.fresh(NETSHM_TYPE_FILE);
    const std::string link = scratch.fresh(NETSHM_TYPE_FILE);
    write_text(target, "somebody's data");
    std::filesystem::create_symlink(target, link);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_ESYS, netshm_open(NETSHM_TYPE_FILE, link.c_str(), oflags, 0600, &descr));
    CHECK(descr == nullptr);
    CHECK(netshm_last_errno() == ELOOP);
    CHECK_THAT(netshm_last_error(), Catch::StartsWith("open " + link + ": a symbolic link"));
    CHECK(read_text(target) == "somebody's data");

    SECTION("a dangling link creates nothing where it points")
    {
        std::filesystem::remove(target);
        CHECK_NETSHM_ERR(NETSHM_ESYS, netshm_open(NETSHM_TYPE_FILE, link.c_str(), oflags, 0600, &descr));
        CHECK_FALSE(netshm_test::exists(target));
    }
}

TEST_CASE("open: without O_CREAT or O_TRUNC a symbolic link is followed", "[descr][safety]")
{
    scratch_names scratch;
    const std::string target = scratch.fresh(NETSHM_TYPE_FILE);
    const std::string link = scratch.fresh(NETSHM_TYPE_FILE);
    open_ok(NETSHM_TYPE_FILE, target, O_RDWR | O_CREAT);
    std::filesystem::create_symlink(target, link);

    descr_ptr descr = open_ok(NETSHM_TYPE_FILE, link, O_RDWR);
    CHECK(std::string(netshm_name(descr.get())) == link);
}

TEST_CASE("open: a FIFO is refused at once, whatever the access", "[descr][safety]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const int oflags = GENERATE(O_RDONLY, O_RDWR, O_RDWR | O_CREAT, O_RDWR | O_TRUNC);
    CAPTURE(type, oflags);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    const std::string path = scratch_names::path_of(type, name);
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);

    CHECK(open_outcome_in_child(type, name, oflags) ==
          refused_as(NETSHM_EINVAL, 0, "open " + name + ": a FIFO, not a regular file or shared-memory object"));
}

TEST_CASE("open: a directory, a device and a socket are refused", "[descr][safety]")
{
    scratch_names scratch;

    SECTION("a directory read-only")
    {
        const std::string folder = scratch.fresh(NETSHM_TYPE_FILE);
        std::filesystem::create_directory(folder);
        CHECK(open_outcome_in_child(NETSHM_TYPE_FILE, folder, O_RDONLY) ==
              refused_as(NETSHM_EINVAL, 0,
                         "open " + folder + ": a directory, not a regular file or shared-memory object"));
    }
    SECTION("a character device")
    {
        const int oflags = GENERATE(O_RDONLY, O_RDWR);
        CHECK(open_outcome_in_child(NETSHM_TYPE_FILE, "/dev/null", oflags) ==
              refused_as(NETSHM_EINVAL, 0,
                         "open /dev/null: a character device, not a regular file or shared-memory object"));
    }
    SECTION("a socket (open(2) itself refuses it)")
    {
        const std::string path = scratch.fresh(NETSHM_TYPE_FILE);
        int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(sock >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(path.size() < sizeof address.sun_path);
        path.copy(address.sun_path, path.size());
        REQUIRE(::bind(sock, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
        CHECK(open_outcome_in_child(NETSHM_TYPE_FILE, path, O_RDWR) ==
              refused_as(NETSHM_ESYS, ENXIO, "open " + path + ": No such device or address"));
        ::close(sock);
    }
}

TEST_CASE("open: O_TRUNC is refused while another process has a table on the object", "[descr][safety]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(type, locking);
    const scratch_object object(type);
    const std::string &name = object.name;
    const std::string &path = object.path;

    // The child keeps the table mapped and reads it after the parent's open.
    child user(10, [&](const child_channel &channel) {
        netshm_descr *descr = nullptr;
        netshm_table *table = nullptr;
        const int32_t value[3] = {7, 8, 9};
        if (netshm_open(type, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
            netshm_manage(descr, locking, 0, -1, &table) != NETSHM_OK ||
            netshm_add(table, 42, value, 3) != NETSHM_OK) {
            channel.say(std::string("setup failed: ") + netshm_last_error());
            return;
        }
        channel.say("ready");
        channel.await();
        int32_t found[3] = {};
        size_t length = 0;
        int rc = netshm_find_into(table, 42, found, 3, &length);
        channel.say(rc == NETSHM_OK && length == 3 && found[2] == 9 ? "found" : "find failed");
    });
    REQUIRE(user.line() == "ready");
    const off_t size = stat_of(path).st_size;

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EBUSY, netshm_open(type, name.c_str(), O_RDWR | O_TRUNC, 0600, &descr));
    CHECK(descr == nullptr);
    CHECK_THAT(netshm_last_error(), Catch::Contains(name) && Catch::Contains("another process"));
    CHECK(stat_of(path).st_size == size);

    user.go();
    CHECK(user.line() == "found");
    user.finish();

    SECTION("once the table is closed, O_TRUNC empties the object")
    {
        open_ok(type, name, O_RDWR | O_TRUNC);
        CHECK(stat_of(path).st_size == 0);
    }
}

TEST_CASE("open: O_TRUNC is refused while this process has a table on the object", "[descr][safety]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(type, locking);
    const scratch_object object(type);
    const std::string &name = object.name;
    const std::string &path = object.path;
    descr_ptr first = open_ok(type, name, O_RDWR);
    table_ptr table = manage_ok(first.get(), 0, -1, locking);
    const off_t size = stat_of(path).st_size;
    REQUIRE(size > 0);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EBUSY, netshm_open(type, name.c_str(), O_RDWR | O_TRUNC, 0600, &descr));
    CHECK_THAT(netshm_last_error(), Catch::Contains("this process"));
    CHECK(stat_of(path).st_size == size);
    const int32_t value[1] = {5};
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(table.get(), 1, value, 1));

    REQUIRE_NETSHM_OK(netshm_table_close(table.release()));
    open_ok(type, name, O_RDWR | O_TRUNC);
    CHECK(stat_of(path).st_size == 0);
}

TEST_CASE("open_posix_lockfile: O_TRUNC is refused while a table is open on the object", "[descr][safety]")
{
    scratch_names scratch;
    const std::string name = scratch.fresh(NETSHM_TYPE_POSIX);
    const std::string lock_file = scratch.fresh(NETSHM_TYPE_FILE);
    netshm_descr *raw = nullptr;
    REQUIRE_NETSHM_OK(netshm_open_posix_lockfile(name.c_str(), lock_file.c_str(), O_RDWR | O_CREAT, 0600, &raw));
    descr_ptr first(raw);
    table_ptr table = manage_ok(first.get());

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EBUSY, netshm_open_posix_lockfile(name.c_str(), lock_file.c_str(), O_RDWR | O_TRUNC,
                                                              0600, &descr));
    CHECK(stat_of(scratch_names::path_of(NETSHM_TYPE_POSIX, name)).st_size > 0);
    REQUIRE_NETSHM_OK(netshm_table_close(table.release()));
}
