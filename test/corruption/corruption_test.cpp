// Corruption tests: thousands of mutated table files (see mutations.hpp), each
// run through manage and every read and write operation (see exercise.hpp).
// Only NETSHM_OK, NETSHM_ENOTFOUND and NETSHM_ECORRUPT may come back (manage
// may also refuse a page size the damaged table seems to have), never a crash
// or a hang, and an ECORRUPT message names the page; netshm_repair then
// leaves every table it accepts sound.
//
// The files run in forked children, a batch each, with an alarm() per file:
// a crash or hang is pinned to its file, reported with the file's
// description, and the run goes on with the next file.  Build with
// -Db_sanitize=address,undefined to run every file under ASan and UBSan.
//
// NETSHM_CORRUPTION_FILES sets the number of files (default 5000; the
// 'stress' suite runs 100000), NETSHM_CORRUPTION_SEED the seed,
// NETSHM_CORRUPTION_FIRST the first file's number (to replay one file: set
// it and NETSHM_CORRUPTION_FILES=1).
#include "exercise.hpp"
#include "mutations.hpp"
#include "netshm_test_helpers.hpp"
#include "table_image.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <new>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

// Under UBSan, a finding stops the child, so that it cannot pass unnoticed.
extern "C" const char *__ubsan_default_options();
extern "C" const char *__ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }
// Under LSan, each child checks for leaks before it exits.
extern "C" int __lsan_do_recoverable_leak_check() __attribute__((weak));

namespace {

using corruption::findings;
using corruption::mutated_file;
using corruption::mutator;
using corruption::run_stats;
using corruption::table_image;
using netshm_test::scratch_names;

using netshm_test::env_number;
using netshm_test::mix;

// ------------------------------------------------------------ base tables

std::vector<int32_t> read_words(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::vector<int32_t> words(static_cast<size_t>(::lseek(fd, 0, SEEK_END)) / 4);
    REQUIRE(::pread(fd, words.data(), words.size() * 4, 0) == static_cast<ssize_t>(words.size() * 4));
    ::close(fd);
    return words;
}

std::vector<int32_t> value_of(uint32_t seed, size_t len)
{
    std::vector<int32_t> v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = static_cast<int32_t>(seed * 2654435761u + static_cast<uint32_t>(i));
    return v;
}

// Writes a table with the library, then reads its file back.
template <class Fill>
table_image make_base(scratch_names &names, std::string label, unsigned pagesize, long long init, Fill fill)
{
    const std::string name = names.fresh(NETSHM_TYPE_POSIX);
    netshm_descr *descr = nullptr;
    REQUIRE_NETSHM_OK(netshm_open(NETSHM_TYPE_POSIX, name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &descr));
    netshm_table *table = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(descr, NETSHM_NO_LOCKING, pagesize, init, &table));
    fill(table);
    REQUIRE_NETSHM_OK(netshm_table_close(table));
    REQUIRE_NETSHM_OK(netshm_close(descr));
    std::vector<int32_t> words = read_words(scratch_names::path_of(NETSHM_TYPE_POSIX, name));
    REQUIRE_NETSHM_OK(netshm_unlink(NETSHM_TYPE_POSIX, name.c_str()));
    return corruption::parse_image(label + " (page size " + std::to_string(pagesize) + ")", pagesize, std::move(words));
}

void add(netshm_table *t, int32_t key, const std::vector<int32_t> &v)
{
    REQUIRE_NETSHM_OK(netshm_add(t, key, v.data(), v.size()));
}

int32_t hash_size(netshm_table *t)
{
    int32_t *base = nullptr;
    size_t pages = 0, words = 0;
    REQUIRE_NETSHM_OK(netshm_memory(t, &base, &pages, &words));
    return base[words + 2];
}

std::vector<table_image> build_bases()
{
    scratch_names names;
    std::vector<table_image> bases;
    bases.push_back(make_base(names, "grown table with stacks and free pages", 160, 1, [](netshm_table *t) {
        for (int32_t k = 0; k < 60; ++k)
            for (int32_t b = 0; b <= k % 3; ++b)
                add(t, k % 7 == 0 ? k * 9 : k * 101 - 3000, value_of(static_cast<uint32_t>(k * 3 + b), static_cast<size_t>((k * 37 + b * 11) % 121)));
        for (int32_t k = 0; k < 60; k += 4)
            REQUIRE_NETSHM_OK(netshm_remove(t, k % 7 == 0 ? k * 9 : k * 101 - 3000));
        // Remove a middle binding: chains relinked by write_blocks.
        int calls = 0;
        REQUIRE_NETSHM_OK(netshm_write_blocks(
            t, NETSHM_OP_REMOVE_BINDING, 2 * 101 - 3000,
            [](int32_t *frag, size_t, void *ctx) -> int {
                int &n = *static_cast<int *>(ctx);
                return frag == nullptr && n++ == 1 ? NETSHM_REMOVE_BINDING : NETSHM_CONTINUE;
            },
            &calls));
    }));
    bases.push_back(make_base(names, "colliding keys and a deep stack", 256, 10, [](netshm_table *t) {
        const int32_t s = hash_size(t);
        for (int32_t j = 0; j < 8; ++j)
            add(t, 5 + j * s, value_of(static_cast<uint32_t>(j), static_cast<size_t>(j * 9)));
        for (int32_t b = 0; b < 15; ++b)
            add(t, -77, value_of(static_cast<uint32_t>(b + 100), static_cast<size_t>(b % 4 == 0 ? 0 : b * 13)));
        add(t, INT32_MIN, {});
        add(t, INT32_MAX, {1});
        const std::vector<int32_t> v = value_of(9, 70);
        REQUIRE_NETSHM_OK(netshm_replace(t, 5 + 2 * s, v.data(), v.size()));
        REQUIRE_NETSHM_OK(netshm_remove(t, 5 + 3 * s));
    }));
    bases.push_back(make_base(names, "long values", 1024, 1, [](netshm_table *t) {
        for (int32_t k = 0; k < 8; ++k) {
            add(t, k * 1000, value_of(static_cast<uint32_t>(k), 200 + static_cast<size_t>(k) * 100));
            add(t, k * 1000, value_of(static_cast<uint32_t>(k + 50), 260 + static_cast<size_t>(k) * 7));
        }
        REQUIRE_NETSHM_OK(netshm_remove(t, 3000));
        REQUIRE_NETSHM_OK(netshm_remove(t, 5000));
    }));
    bases.push_back(make_base(names, "cells claimed without bindings", 164, 3, [](netshm_table *t) {
        for (int32_t k = 0; k < 20; ++k)
            add(t, k - 10, value_of(static_cast<uint32_t>(k), static_cast<size_t>(k * 5)));
        for (int32_t k = 0; k < 20; k += 2)
            REQUIRE_NETSHM_OK(netshm_remove(t, k - 10));
    }));
    bases.push_back(make_base(names, "empty table", 256, 0, [](netshm_table *) {}));
    bases.push_back(make_base(names, "many keys, empty values", 160, 0, [](netshm_table *t) {
        for (int32_t k = 0; k < 200; ++k)
            add(t, k * 17 - 1700, {});
    }));
    return bases;
}

const std::vector<table_image> &bases()
{
    static const std::vector<table_image> built = build_bases();
    return built;
}

// ------------------------------------------------------------ the run

constexpr int kept_reports = 12;
constexpr size_t report_length = 1200;

// What the children report, in memory shared with them.
struct shared_report {
    uint64_t current;
    char description[report_length];
    run_stats stats;
    uint64_t bad_results, size_limits, bad_messages;
    char bad_result_text[kept_reports][report_length];
    char size_limit_text[kept_reports][report_length];
    char bad_message_text[kept_reports][report_length];
};

void copy_text(char *to, const std::string &text)
{
    std::snprintf(to, report_length, "%s", text.c_str());
}

class shared_findings : public findings {
public:
    explicit shared_findings(shared_report &report) : report_(report) {}
    void bad_result(const std::string &text) override
    {
        if (report_.bad_results < kept_reports)
            copy_text(report_.bad_result_text[report_.bad_results], text);
        ++report_.bad_results;
    }
    void size_limit(const std::string &text) override
    {
        if (report_.size_limits < kept_reports)
            copy_text(report_.size_limit_text[report_.size_limits], text);
        ++report_.size_limits;
    }
    void bad_message(const std::string &text) override
    {
        if (report_.bad_messages < kept_reports)
            copy_text(report_.bad_message_text[report_.bad_messages], text);
        ++report_.bad_messages;
    }

private:
    shared_report &report_;
};

struct run_result {
    uint64_t first = 0, files = 0, seed = 0;
    run_stats stats{};
    std::vector<std::string> crashes;
    uint64_t bad_results = 0, size_limits = 0, bad_messages = 0;
    std::vector<std::string> bad_result_text, size_limit_text, bad_message_text;
    double seconds = 0;
};

// Runs files [from, to) in a child; returns its wait status.
int run_batch(shared_report &report, const mutator &mut, const std::string &object, uint64_t seed, uint64_t from,
              uint64_t to, unsigned timeout)
{
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        std::signal(SIGALRM, SIG_DFL);
        sigset_t alarm_only;
        sigemptyset(&alarm_only);
        sigaddset(&alarm_only, SIGALRM);
        sigprocmask(SIG_UNBLOCK, &alarm_only, nullptr);
        int code = 0;
        {
            shared_findings sink(report);
            corruption::exerciser exercise(object, sink, report.stats);
            for (uint64_t i = from; i < to; ++i) {
                report.current = i;
                const mutated_file file = mut.make(mix(seed ^ mix(i)));
                copy_text(report.description, "file " + std::to_string(i) + ": " + file.description);
                ::alarm(timeout);
                if (!exercise.run(file, mix(seed + i)))
                    code = 2;
                ::alarm(0);
            }
        }
        if (&__lsan_do_recoverable_leak_check != nullptr && __lsan_do_recoverable_leak_check() != 0)
            code = 3;
        ::_exit(code);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

run_result run_files()
{
    run_result result;
    result.files = env_number("NETSHM_CORRUPTION_FILES", 5000);
    result.seed = env_number("NETSHM_CORRUPTION_SEED", 0xC0221337ULL);
    result.first = env_number("NETSHM_CORRUPTION_FIRST", 0);
    const auto timeout = static_cast<unsigned>(env_number("NETSHM_CORRUPTION_TIMEOUT", 20));
    const uint64_t batch = 250;
    const mutator mut(bases());

    void *memory = ::mmap(nullptr, sizeof(shared_report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(memory != MAP_FAILED);
    auto *report = new (memory) shared_report{};
    scratch_names names;
    const auto started = std::chrono::steady_clock::now();
    const uint64_t end = result.first + result.files;
    for (uint64_t next = result.first; next < end;) {
        const uint64_t to = std::min(end, next + batch);
        const std::string object = names.fresh(NETSHM_TYPE_POSIX);
        report->current = next;
        const int status = run_batch(*report, mut, object, result.seed, next, to, timeout);
        netshm_unlink(NETSHM_TYPE_POSIX, object.c_str());
        REQUIRE(status != -1);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            next = to;
            continue;
        }
        std::string what;
        if (WIFSIGNALED(status))
            what = WTERMSIG(status) == SIGALRM ? "hung (killed by the watchdog)" : "killed by signal " + std::to_string(WTERMSIG(status));
        else if (WEXITSTATUS(status) == 3)
            what = "leaked memory (LeakSanitizer report above)";
        else if (WEXITSTATUS(status) == 2)
            what = "could not write a file to /dev/shm";
        else
            what = "exited with status " + std::to_string(WEXITSTATUS(status)) + " (a sanitizer report is above)";
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
            // Found at the end of the batch: not pinned to one file.
            result.crashes.push_back("batch " + std::to_string(next) + ".." + std::to_string(to) + " " + what);
            next = to;
            continue;
        }
        result.crashes.push_back(std::string(report->description) + "\n      -> " + what);
        next = report->current + 1;
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result.stats = report->stats;
    result.bad_results = report->bad_results;
    result.size_limits = report->size_limits;
    result.bad_messages = report->bad_messages;
    for (uint64_t i = 0; i < std::min<uint64_t>(kept_reports, report->bad_results); ++i)
        result.bad_result_text.emplace_back(report->bad_result_text[i]);
    for (uint64_t i = 0; i < std::min<uint64_t>(kept_reports, report->size_limits); ++i)
        result.size_limit_text.emplace_back(report->size_limit_text[i]);
    for (uint64_t i = 0; i < std::min<uint64_t>(kept_reports, report->bad_messages); ++i)
        result.bad_message_text.emplace_back(report->bad_message_text[i]);
    ::munmap(memory, sizeof(shared_report));
    return result;
}

const run_result &files_run()
{
    static const run_result result = run_files();
    return result;
}

std::string joined(const std::vector<std::string> &lines)
{
    std::string text;
    for (const std::string &line : lines)
        text += "\n  " + line;
    return text;
}

} // namespace

TEST_CASE("corruption: the base tables are sound", "[corruption]")
{
    // The same operations on the unmutated files: no corruption anywhere.
    struct collect : findings {
        std::vector<std::string> seen;
        void bad_result(const std::string &text) override { seen.push_back(text); }
        void size_limit(const std::string &text) override { seen.push_back(text); }
        void bad_message(const std::string &text) override { seen.push_back(text); }
    } sink;
    scratch_names names;
    for (const table_image &base : bases()) {
        CAPTURE(base.label);
        CHECK(static_cast<size_t>(base.total_pages()) * base.pagesize == base.words.size() * 4);
        run_stats stats{};
        {
            corruption::exerciser exercise(names.fresh(NETSHM_TYPE_POSIX), sink, stats);
            mutated_file file;
            file.base = &base;
            file.description = "unmutated " + base.label;
            file.bytes.assign(reinterpret_cast<const char *>(base.words.data()), base.words.size() * 4);
            for (uint64_t seed = 0; seed < 20; ++seed)
                REQUIRE(exercise.run(file, seed));
        }
        CHECK(stats.manage_ok >= 20);
        CHECK(stats.corrupt == 0);
        CHECK(stats.checked_damaged == 0);
        CHECK(stats.checked_sound >= stats.manage_ok);
        CHECK(stats.manage_corrupt + stats.manage_other_pagesize + stats.manage_readonly_empty == 0);
        CHECK(stats.calls > 20 * 20);
    }
    INFO(joined(sink.seen));
    CHECK(sink.seen.empty());
    // The bases hold what the mutations aim at.
    size_t chains = 0, multi_page = 0, free_pages = 0, extents = 0;
    for (const table_image &base : bases()) {
        chains += base.chains.size();
        for (const auto &binding : base.bindings)
            multi_page += binding.pages.size() > 1;
        free_pages += base.free_list.size();
        extents = std::max(extents, base.hash_pages.size());
    }
    CHECK(chains > 50);
    CHECK(multi_page > 20);
    CHECK(free_pages > 10);
    CHECK(extents >= 15);
}

TEST_CASE("corruption: mutated tables give only OK, ENOTFOUND or ECORRUPT, never a crash or a hang",
          "[corruption]")
{
    const run_result &run = files_run();
    const run_stats &s = run.stats;
    WARN(run.files << " mutated files (seed " << run.seed << ", from file " << run.first << ") in " << run.seconds
                   << " s: manage gave OK " << s.manage_ok << ", ECORRUPT " << s.manage_corrupt
                   << ", EINVAL for another page size " << s.manage_other_pagesize
                   << ", EREADONLY for an empty file " << s.manage_readonly_empty << "; " << s.calls
                   << " calls: OK " << s.ok << ", ENOTFOUND " << s.not_found << ", ECORRUPT " << s.corrupt
                   << "; netshm_check found " << s.checked_sound << " tables sound and " << s.checked_damaged
                   << " damaged (" << s.problems << " problems); netshm_repair repaired " << s.repaired
                   << " and refused " << s.repair_refused);
    INFO("crashes and hangs:" << joined(run.crashes));
    CHECK(run.crashes.empty());
    INFO("first of " << run.bad_results << " results that must not come back:" << joined(run.bad_result_text));
    CHECK(run.bad_results == 0);
    CHECK(s.files >= run.files);
    if (run.files >= 1000) {
        // The mutations reach the operations, and the operations find them.
        CHECK(s.manage_ok * 3 > s.files);
        CHECK(s.manage_corrupt * 10 > s.files);
        CHECK(s.corrupt > s.manage_corrupt + s.files / 2);
        // netshm_check finds damage in most tables that manage accepts.
        CHECK(s.checked_damaged * 2 > s.manage_ok);
        // netshm_repair repairs most tables that manage accepts for writing.
        CHECK(s.repaired > 10 * s.repair_refused);
    }
}

// Damaged counters are corruption, never a size limit (pinned exactly by
// corruption_exact_test.cpp).
TEST_CASE("corruption: damaged counters are corruption, not a size limit", "[corruption]")
{
    const run_result &run = files_run();
    INFO("first of " << run.size_limits << " NETSHM_ETOOBIG results:" << joined(run.size_limit_text));
    CHECK(run.size_limits == 0);
}

TEST_CASE("corruption: ECORRUPT messages name the page", "[corruption]")
{
    const run_result &run = files_run();
    INFO("first of " << run.bad_messages << " messages naming no page:" << joined(run.bad_message_text));
    CHECK(run.bad_messages == 0);
}
