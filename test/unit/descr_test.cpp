// The C API of shared-memory objects: open, create_unique, name, type, close
// and unlink, with every error path, for file and POSIX objects.
#include "netshm_test_helpers.hpp"
#include "os_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using netshm_test::descr_ptr;
using netshm_test::exists;
using netshm_test::fd_open_on;
using netshm_test::open_call;
using netshm_test::open_ok;
using netshm_test::scratch_names;
using netshm_test::stat_of;
using netshm_test::unlink_call;

namespace {

bool is_name_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

} // namespace

TEST_CASE("open: O_CREAT creates an empty object with the mode given", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);

    descr_ptr descr = open_ok(type, name, O_RDWR | O_CREAT, 0600);

    CHECK(std::string(netshm_name(descr.get())) == name);
    CHECK(netshm_descr_type(descr.get()) == type);
    struct stat st = stat_of(scratch_names::path_of(type, name));
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_size == 0);
}

TEST_CASE("open: O_RDONLY and O_RDWR give that access", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const int access = GENERATE(O_RDONLY, O_RDWR);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    open_ok(type, name, O_RDWR | O_CREAT);

    descr_ptr descr = open_ok(type, name, access);

    int fd = fd_open_on(scratch_names::path_of(type, name));
    REQUIRE(fd >= 0);
    CHECK((::fcntl(fd, F_GETFL) & O_ACCMODE) == access);
}

TEST_CASE("open: the descriptor is close-on-exec", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const int oflags = GENERATE(O_RDWR | O_CREAT, O_RDONLY | O_CREAT);
    scratch_names scratch;

    descr_ptr descr = open_ok(type, scratch.fresh(type), oflags);

    int fd = fd_open_on(scratch_names::path_of(type, netshm_name(descr.get())));
    REQUIRE(fd >= 0);
    CHECK(::fcntl(fd, F_GETFD) == FD_CLOEXEC);
}

TEST_CASE("open: O_TRUNC empties an existing object, its absence keeps the content; it needs O_RDWR", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    const std::string path = scratch_names::path_of(type, name);
    open_ok(type, name, O_RDWR | O_CREAT);
    REQUIRE(::truncate(path.c_str(), 4096) == 0);

    open_ok(type, name, O_RDWR);
    CHECK(stat_of(path).st_size == 4096);
    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(type, name.c_str(), O_RDONLY | O_TRUNC, 0600, &descr));
    CHECK(std::string(netshm_last_error()) == "open " + name + ": O_TRUNC needs O_RDWR");
    CHECK(stat_of(path).st_size == 4096);
    open_ok(type, name, O_RDWR | O_TRUNC);
    CHECK(stat_of(path).st_size == 0);
}

TEST_CASE("open: O_CREAT|O_EXCL on an existing object gives NETSHM_EEXIST", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    open_ok(type, name, O_RDWR | O_CREAT | O_EXCL);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EEXIST,
                     netshm_open(type, name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &descr));
    CHECK(descr == nullptr);
    CHECK(std::string(netshm_last_error()) == open_call(type) + " " + name + ": File exists");
    CHECK(netshm_last_errno() == EEXIST);
}

TEST_CASE("open: a missing object gives NETSHM_ENOTFOUND", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const int access = GENERATE(O_RDONLY, O_RDWR, O_RDWR | O_TRUNC);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_open(type, name.c_str(), access, 0600, &descr));
    CHECK(descr == nullptr);
    CHECK(std::string(netshm_last_error()) ==
          open_call(type) + " " + name + ": No such file or directory");
    CHECK(netshm_last_errno() == ENOENT);
    CHECK(errno == ENOENT);
}

TEST_CASE("open: flags beyond O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC give NETSHM_EINVAL",
          "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const int bad_flags = GENERATE(O_WRONLY, O_ACCMODE, O_RDWR | O_APPEND, O_RDWR | O_NONBLOCK,
                                   O_RDWR | O_SYNC, O_RDWR | O_NOFOLLOW, O_RDWR | O_NOCTTY,
                                   O_RDWR | O_DIRECTORY, O_RDWR | O_TMPFILE);
    INFO("flags " << bad_flags);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL,
                     netshm_open(type, name.c_str(), bad_flags | O_CREAT, 0600, &descr));
    CHECK(descr == nullptr);
    CHECK_THAT(netshm_last_error(), Catch::Contains(name));
    CHECK(netshm_last_errno() == 0);
    CHECK_FALSE(exists(scratch_names::path_of(type, name)));
}

TEST_CASE("open: a mode beyond 07777 gives NETSHM_EINVAL", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    const unsigned bad_mode = GENERATE(010000u, 0100600u, UINT_MAX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(type, name.c_str(), O_RDWR | O_CREAT, bad_mode, &descr));
    CHECK(descr == nullptr);
    CHECK_THAT(netshm_last_error(), Catch::Contains(name) && Catch::Contains("07777"));
    CHECK_FALSE(exists(scratch_names::path_of(type, name)));
}

TEST_CASE("POSIX names: a leading '/', no other '/', 1 to NAME_MAX characters", "[descr]")
{
    scratch_names scratch;
    const std::string base = scratch.fresh(NETSHM_TYPE_POSIX);

    SECTION("bad names give NETSHM_EINVAL from open, create_unique and unlink")
    {
        const std::vector<std::string> bad_names = {
            base.substr(1),                                      // no leading '/'
            base + "/sub",                                       // a second '/'
            "/" + base,                                          // "//..."
            "/",                                                 // nothing after '/'
            "",                                                  // empty
            base + std::string(NAME_MAX + 1 - (base.size() - 1), 'n'), // NAME_MAX + 1
        };
        for (const std::string &name : bad_names) {
            INFO("name \"" << name << "\"");
            netshm_descr *descr = nullptr;
            CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(NETSHM_TYPE_POSIX, name.c_str(),
                                                        O_RDWR | O_CREAT, 0600, &descr));
            CHECK(descr == nullptr);
            CHECK_NETSHM_ERR(NETSHM_EINVAL,
                             netshm_create_unique(NETSHM_TYPE_POSIX, name.c_str(), 0600, &descr));
            CHECK(descr == nullptr);
            CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink(NETSHM_TYPE_POSIX, name.c_str()));
        }
    }

    SECTION("a name of exactly NAME_MAX characters after the '/' works")
    {
        const std::string longest = base + std::string(NAME_MAX - (base.size() - 1), 'n');
        REQUIRE(longest.size() == NAME_MAX + 1);
        open_ok(NETSHM_TYPE_POSIX, longest, O_RDWR | O_CREAT | O_EXCL);
        CHECK(exists(scratch_names::path_of(NETSHM_TYPE_POSIX, longest)));
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_unlink(NETSHM_TYPE_POSIX, longest.c_str()));
    }
}

TEST_CASE("file names: the empty name gives NETSHM_EINVAL", "[descr]")
{
    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(NETSHM_TYPE_FILE, "", O_RDWR | O_CREAT, 0600, &descr));
    CHECK(descr == nullptr);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_create_unique(NETSHM_TYPE_FILE, "", 0600, &descr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink(NETSHM_TYPE_FILE, ""));
}

TEST_CASE("unknown object types give NETSHM_EINVAL", "[descr]")
{
    const int bad_type = GENERATE(0, 3, -1, INT_MAX);
    const auto type = static_cast<netshm_type>(bad_type);
    scratch_names scratch;
    const std::string name = scratch.fresh(NETSHM_TYPE_POSIX);
    const std::string expected = "unknown object type " + std::to_string(bad_type);

    netshm_descr *descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(type, name.c_str(), O_RDWR | O_CREAT, 0600, &descr));
    CHECK(std::string(netshm_last_error()) == expected);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_create_unique(type, name.c_str(), 0600, &descr));
    CHECK(std::string(netshm_last_error()) == expected);
    CHECK(descr == nullptr);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink(type, name.c_str()));
    CHECK(std::string(netshm_last_error()) == expected);
    CHECK_FALSE(exists(scratch_names::path_of(NETSHM_TYPE_POSIX, name)));
}

TEST_CASE("NULL arguments give NETSHM_EINVAL naming the argument", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    netshm_descr *descr = nullptr;

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(type, nullptr, O_RDWR | O_CREAT, 0600, &descr));
    CHECK(std::string(netshm_last_error()) == "netshm_open: name is NULL");
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_open(type, name.c_str(), O_RDWR | O_CREAT, 0600, nullptr));
    CHECK(std::string(netshm_last_error()) == "netshm_open: out is NULL");
    CHECK_FALSE(exists(scratch_names::path_of(type, name)));

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_create_unique(type, nullptr, 0600, &descr));
    CHECK(std::string(netshm_last_error()) == "netshm_create_unique: name_template is NULL");
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_create_unique(type, name.c_str(), 0600, nullptr));
    CHECK(std::string(netshm_last_error()) == "netshm_create_unique: out is NULL");
    CHECK_FALSE(exists(scratch_names::path_of(type, name)));
    CHECK(descr == nullptr);

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink(type, nullptr));
    CHECK(std::string(netshm_last_error()) == "netshm_unlink: name is NULL");
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_close(nullptr));
    CHECK(std::string(netshm_last_error()) == "netshm_close: descr is NULL");
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_chmod(nullptr, 0600));
    CHECK(std::string(netshm_last_error()) == "netshm_chmod: descr is NULL");
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_chown(nullptr, -1, -1));
    CHECK(std::string(netshm_last_error()) == "netshm_chown: descr is NULL");

    CHECK(netshm_name(nullptr) == nullptr);
    CHECK(netshm_descr_type(nullptr) == 0);
}

TEST_CASE("close: releases the descriptor and keeps the object", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    const std::string path = scratch_names::path_of(type, name);
    netshm_descr *descr = open_ok(type, name, O_RDWR | O_CREAT).release();
    REQUIRE(fd_open_on(path) >= 0);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_close(descr));

    CHECK(fd_open_on(path) == -1);
    CHECK(exists(path));
}

TEST_CASE("unlink: removes the name; open handles stay usable", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    descr_ptr descr = open_ok(type, name, O_RDWR | O_CREAT);

    CHECK_NETSHM_ERR(NETSHM_OK, netshm_unlink(type, name.c_str()));

    CHECK_FALSE(exists(scratch_names::path_of(type, name)));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_chmod(descr.get(), 0640));
    netshm_descr *reopened = nullptr;
    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_open(type, name.c_str(), O_RDWR, 0, &reopened));
    CHECK(reopened == nullptr);
}

TEST_CASE("unlink: a missing object gives NETSHM_ENOTFOUND", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);

    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_unlink(type, name.c_str()));

    CHECK(std::string(netshm_last_error()) ==
          unlink_call(type) + " " + name + ": No such file or directory");
    CHECK(netshm_last_errno() == ENOENT);
}

TEST_CASE("create_unique: 1000 distinct names, each 'X' replaced by one of [0-9A-Z]", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name_template = scratch.unique_template(type);
    const std::string fixed_part = name_template.substr(0, name_template.size() - 6);

    std::set<std::string> names;
    std::set<char> characters_seen;
    for (int i = 0; i < 1000; ++i) {
        netshm_descr *descr = nullptr;
        REQUIRE_NETSHM_OK(netshm_create_unique(type, name_template.c_str(), 0600, &descr));
        const std::string name = netshm_name(descr);
        CHECK(netshm_descr_type(descr) == type);
        REQUIRE_NETSHM_OK(netshm_close(descr));

        INFO("name " << name);
        REQUIRE(name.size() == name_template.size());
        REQUIRE(name.starts_with(fixed_part));
        for (char c : name.substr(fixed_part.size())) {
            REQUIRE(is_name_char(c));
            characters_seen.insert(c);
        }
        REQUIRE(exists(scratch_names::path_of(type, name)));
        names.insert(name);
    }

    CHECK(names.size() == 1000);
    // 6000 random characters miss one of 36 with a probability below 1e-70.
    CHECK(characters_seen.size() == 36);
    for (const std::string &name : names) {
        REQUIRE_NETSHM_OK(netshm_unlink(type, name.c_str()));
        REQUIRE_FALSE(exists(scratch_names::path_of(type, name)));
    }
}

TEST_CASE("create_unique: only the last component's 'X' are replaced", "[descr]")
{
    scratch_names scratch;
    const std::string folder = scratch.fresh(NETSHM_TYPE_FILE) + "-XX";
    REQUIRE(::mkdir(folder.c_str(), 0700) == 0);
    netshm_descr *raw = nullptr;

    REQUIRE_NETSHM_OK(netshm_create_unique(NETSHM_TYPE_FILE, (folder + "/tableXXXX").c_str(), 0600, &raw));
    descr_ptr descr(raw);

    const std::string name = netshm_name(raw);
    CHECK(name.starts_with(folder + "/table"));
    CHECK(name.size() == folder.size() + 10);
    CHECK(exists(name));
}

TEST_CASE("create_unique: creates O_RDWR, close-on-exec, with the mode given", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    netshm_descr *raw = nullptr;
    REQUIRE_NETSHM_OK(netshm_create_unique(type, scratch.unique_template(type).c_str(), 0600, &raw));
    descr_ptr descr(raw);

    const std::string path = scratch_names::path_of(type, netshm_name(raw));
    CHECK((stat_of(path).st_mode & 07777) == 0600);
    int fd = fd_open_on(path);
    REQUIRE(fd >= 0);
    CHECK((::fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK(::fcntl(fd, F_GETFD) == FD_CLOEXEC);
}

TEST_CASE("create_unique: a template without 'X' names exactly one object", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    netshm_descr *descr = nullptr;

    REQUIRE_NETSHM_OK(netshm_create_unique(type, name.c_str(), 0600, &descr));
    CHECK(std::string(netshm_name(descr)) == name);
    REQUIRE_NETSHM_OK(netshm_close(descr));

    descr = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EEXIST, netshm_create_unique(type, name.c_str(), 0600, &descr));
    CHECK(descr == nullptr);
    CHECK(std::string(netshm_last_error()) ==
          "create_unique " + name + ": no free name after 1000 attempts");
}

TEST_CASE("create_unique: a mode beyond 07777 gives NETSHM_EINVAL", "[descr]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_FILE, NETSHM_TYPE_POSIX);
    scratch_names scratch;
    const std::string name = scratch.fresh(type);
    netshm_descr *descr = nullptr;

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_create_unique(type, name.c_str(), 010000, &descr));
    CHECK(descr == nullptr);
    CHECK_FALSE(exists(scratch_names::path_of(type, name)));
}
