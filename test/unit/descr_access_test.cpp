// Access control through the C API: chmod, chown, and what an unprivileged
// process is refused, for file and POSIX objects.
#include "netshm_test_helpers.hpp"
#include "os_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>

using netshm_test::descr_ptr;
using netshm_test::nobody;
using netshm_test::open_ok;
using netshm_test::run_as_nobody;
using netshm_test::scratch_names;

namespace {

struct stat stat_of(netshm_type type, const std::string &name)
{
    return netshm_test::stat_of(scratch_names::path_of(type, name));
}

// "<result> <netshm_last_errno> <errno> <netshm_last_error>" of a call.
std::string outcome(int rc)
{
    const int saved_errno = errno;
    return std::to_string(rc) + " " + std::to_string(netshm_last_errno()) + " " +
           std::to_string(saved_errno) + " " + netshm_last_error();
}

} // namespace

TEST_CASE("chmod: sets exactly the permission bits given", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const unsigned mode = GENERATE(0640u, 0604u, 0000u, 0755u);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    descr_ptr descr = open_ok(type, name, O_RDWR | O_CREAT, 0600);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chmod(descr.get(), mode));

    CHECK((stat_of(type, name).st_mode & 07777) == mode);
}

TEST_CASE("chmod: works through a read-only descriptor", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    open_ok(type, name, O_RDWR | O_CREAT, 0600);
    descr_ptr descr = open_ok(type, name, O_RDONLY);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chmod(descr.get(), 0644));

    CHECK((stat_of(type, name).st_mode & 07777) == 0644);
}

TEST_CASE("chmod: a mode beyond 07777 gives NETSHM_EINVAL and changes nothing", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    descr_ptr descr = open_ok(type, name, O_RDWR | O_CREAT, 0600);

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_chmod(descr.get(), 010644));

    CHECK(std::string(netshm_last_error()) == "chmod " + name + ": mode 4516 has bits outside 07777");
    CHECK((stat_of(type, name).st_mode & 07777) == 0600);
}

TEST_CASE("chown: sets the owner and the group; -1 keeps one", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    descr_ptr descr = open_ok(type, name, O_RDWR | O_CREAT, 0600);
    REQUIRE(stat_of(type, name).st_uid == 0); // the tests run as root, as CI does

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chown(descr.get(), nobody, nobody));
    CHECK(stat_of(type, name).st_uid == nobody);
    CHECK(stat_of(type, name).st_gid == nobody);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chown(descr.get(), -1, 0));
    CHECK(stat_of(type, name).st_uid == nobody);
    CHECK(stat_of(type, name).st_gid == 0);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chown(descr.get(), 0, -1));
    CHECK(stat_of(type, name).st_uid == 0);
    CHECK(stat_of(type, name).st_gid == 0);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chown(descr.get(), -1, -1));
    CHECK(stat_of(type, name).st_uid == 0);
    CHECK(stat_of(type, name).st_gid == 0);
}

TEST_CASE("chown: ids other than -1 and 0..2^32-2 give NETSHM_EINVAL", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const long bad_id = GENERATE(-2L, 4294967295L, 1L << 40);
    scratch_names scratch;
    descr_ptr descr = open_ok(type, scratch.fresh(type), O_RDWR | O_CREAT, 0600);

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_chown(descr.get(), bad_id, -1));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_chown(descr.get(), -1, bad_id));
    CHECK(netshm_last_errno() == 0);
}

TEST_CASE("open: another user is refused a 0600 object with NETSHM_ESYS/EACCES", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const int access = GENERATE(O_RDONLY, O_RDWR);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    open_ok(type, name, O_RDWR | O_CREAT, 0600);

    std::string report = run_as_nobody([&] {
        netshm_descr *descr = nullptr;
        std::string result = outcome(netshm_open(type, name.c_str(), access, 0, &descr));
        return descr == nullptr ? result : result + " (and a handle)";
    });

    CHECK(report == "-5 13 13 " + netshm_test::open_call(type) + " " + name + ": Permission denied");
}

TEST_CASE("chown and chmod: refused to a user who does not own the object", "[access]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    open_ok(type, name, O_RDWR | O_CREAT, 0644);

    std::string report = run_as_nobody([&] {
        netshm_descr *descr = nullptr;
        if (netshm_open(type, name.c_str(), O_RDONLY, 0, &descr) != NETSHM_OK)
            return std::string("open failed: ") + netshm_last_error();
        std::string chown_result = outcome(netshm_chown(descr, nobody, nobody));
        std::string chmod_result = outcome(netshm_chmod(descr, 0666));
        netshm_close(descr);
        return chown_result + "\n" + chmod_result;
    });

    CHECK(report == "-5 1 1 chown " + name + ": Operation not permitted\n"
                    "-5 1 1 chmod " + name + ": Operation not permitted");
    struct stat st = stat_of(type, name);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 07777) == 0644);
}
