// Whole-table views of the C API: netshm_dump prints exactly what OCamlnet's
// Netshm.dump prints (a closed pipe is an error, not a SIGPIPE), and
// netshm_memory gives the mapped object itself.
#include "child_process.hpp"
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

using namespace table_api;

TEST_CASE("table: dump prints exactly what Netshm.dump prints", "[table][dump]")
{
    scratch_table st(160, 10);
    netshm_table *t = st.get();
    CHECK(dump_text(t) == "<shm length=0\n>\n");

    add_ok(t, 5, {1, 2});
    add_ok(t, 5, {3});
    CHECK(dump_text(t) == "<shm length=2\n  5 => [| 3 |]\n  5 => [| 1; 2 |]\n>\n");

    REQUIRE_NETSHM_OK(netshm_remove(t, 5));
    REQUIRE_NETSHM_OK(netshm_remove(t, 5));
    add_ok(t, -7, {});
    CHECK(dump_text(t) == "<shm length=1\n  -7 => [|  |]\n>\n");
    REQUIRE_NETSHM_OK(netshm_remove(t, -7));
    add_ok(t, INT32_MIN, {-1, INT32_MAX, INT32_MIN, 0});
    CHECK(dump_text(t) == "<shm length=1\n  -2147483648 => [| -1; 2147483647; -2147483648; 0 |]\n>\n");

    SECTION("several keys: one line per binding, a key's newest first")
    {
        std::multiset<std::string> lines{"  -2147483648 => [| -1; 2147483647; -2147483648; 0 |]"};
        for (int32_t k = 0; k < 30; ++k) {
            add_ok(t, k, {k});
            add_ok(t, k, {k, k + 1});
            lines.insert("  " + std::to_string(k) + " => [| " + std::to_string(k) + " |]");
            lines.insert("  " + std::to_string(k) + " => [| " + std::to_string(k) + "; " + std::to_string(k + 1) + " |]");
        }
        const std::string text = dump_text(t);
        std::vector<std::string> ordered;
        for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
            ordered.push_back(text.substr(start, end - start));
        REQUIRE(ordered.size() == 63);
        CHECK(ordered.front() == "<shm length=61");
        CHECK(ordered.back() == ">");
        CHECK(text.back() == '\n');
        ordered = std::vector<std::string>(ordered.begin() + 1, ordered.end() - 1);
        CHECK(std::multiset<std::string>(ordered.begin(), ordered.end()) == lines);
        for (int32_t k = 0; k < 30; ++k) {
            auto newest = std::find(ordered.begin(), ordered.end(),
                                    "  " + std::to_string(k) + " => [| " + std::to_string(k) + "; " + std::to_string(k + 1) + " |]");
            REQUIRE(newest != ordered.end());
            CHECK(*(newest + 1) == "  " + std::to_string(k) + " => [| " + std::to_string(k) + " |]");
        }
    }

    SECTION("a large dump is written whole")
    {
        for (int32_t k = 0; k < 100; ++k)
            add_ok(t, k, make_value(k, 300));
        const std::string text = dump_text(t);
        size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
        CHECK(lines == 2 + 101);
        CHECK(text.size() > (1u << 16));
    }

    SECTION("a write failure is a system error")
    {
        errno = 0;
        CHECK_NETSHM_ERR(NETSHM_ESYS, netshm_dump(t, -1));
        CHECK(errno == EBADF);
        CHECK(netshm_last_errno() == EBADF);
        // No lock stays: the table is writable.
        add_ok(t, 1, {1});
    }
}

namespace {

volatile sig_atomic_t sigpipes_caught = 0;

void count_sigpipe(int) { sigpipes_caught = sigpipes_caught + 1; }

// Whether SIGPIPE's handler is `handler`, and whether it is blocked or pending.
std::string sigpipe_state(void (*handler)(int))
{
    struct sigaction current {};
    sigset_t blocked, pending;
    if (::sigaction(SIGPIPE, nullptr, &current) != 0 || ::sigprocmask(SIG_BLOCK, nullptr, &blocked) != 0 ||
        ::sigpending(&pending) != 0)
        return "signal state unreadable";
    return std::string(current.sa_handler == handler ? "same handler" : "handler changed") +
           (sigismember(&blocked, SIGPIPE) ? ", blocked" : "") + (sigismember(&pending, SIGPIPE) ? ", pending" : "");
}

} // namespace

TEST_CASE("table: dump to a closed pipe is EPIPE and leaves SIGPIPE's handling alone", "[table][dump]")
{
    // SIGPIPE in the caller: default, caught by a handler, or blocked.
    const bool handled = GENERATE(false, true);
    const bool blocked = GENERATE(false, true);
    CAPTURE(handled, blocked);
    scratch_table st(160, 10);
    add_ok(st.get(), 5, {1, 2});
    // A child, so that a SIGPIPE kills it and not the test.
    netshm_test::child dumper(10, [&]() -> std::string {
        void (*handler)(int) = handled ? count_sigpipe : SIG_DFL;
        struct sigaction action {};
        action.sa_handler = handler;
        sigset_t sigpipe_only;
        sigemptyset(&sigpipe_only);
        sigaddset(&sigpipe_only, SIGPIPE);
        int fds[2];
        netshm_descr *descr = nullptr;
        netshm_table *table = nullptr;
        if (::sigaction(SIGPIPE, &action, nullptr) != 0 ||
            ::sigprocmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &sigpipe_only, nullptr) != 0 || ::pipe(fds) != 0 ||
            netshm_open(NETSHM_TYPE_POSIX, st.name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
            netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table) != NETSHM_OK)
            return "setup failed";
        ::close(fds[0]);
        const int rc = netshm_dump(table, fds[1]);
        const int err = netshm_last_errno();
        const bool usable = netshm_mem(table, 5) == 1;
        return "rc=" + std::to_string(rc) + " errno=" + std::to_string(err) + " usable=" + std::to_string(usable) +
               " caught=" + std::to_string(sigpipes_caught) + " " + sigpipe_state(handler);
    });
    CHECK(dumper.finish() == "rc=" + std::to_string(NETSHM_ESYS) + " errno=" + std::to_string(EPIPE) +
                                 " usable=1 caught=0 same handler" + (blocked ? ", blocked" : ""));
}

TEST_CASE("table: memory is the mapped object", "[table][memory]")
{
    const unsigned pagesize = GENERATE(160u, 256u, 1024u);
    scratch_table st(pagesize, 10);
    netshm_table *t = st.get();
    add_ok(t, 11, make_value(11, 3));
    table_memory mem(t);
    CHECK(mem.words_per_page == pagesize / 4);
    for (int i = 0; i < 4; ++i)
        CHECK(static_cast<uint32_t>(mem.base[i]) == file_magic[i]);
    CHECK(mem.base[4] == 1);
    CHECK(static_cast<size_t>(mem.descriptor(d_total_pages)) == mem.pages);
    CHECK(static_cast<off_t>(mem.pages * pagesize) == file_size(st.path()));
    // The binding's first page: magic, key, no next page, no older binding, offset 0, length 3.
    int found = 0;
    for (size_t page = 2; page < mem.pages; ++page)
        if (static_cast<uint32_t>(mem.word(page, 0)) == content_magic) {
            ++found;
            CHECK(mem.word(page, 1) == 11);
            CHECK(mem.word(page, 2) == 0);
            CHECK(mem.word(page, 3) == 0);
            CHECK(mem.word(page, 4) == 0);
            CHECK(mem.word(page, 5) == 3);
            // Writing through the mapping is writing the table.
            mem.base[page * mem.words_per_page + 6] = -1;
        }
    CHECK(found == 1);
    value_t expected = make_value(11, 3);
    expected[0] = -1;
    CHECK(find_value(t, 11) == expected);
}
