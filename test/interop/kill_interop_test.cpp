// Record-mode crash recovery with OCamlnet writing between the kills (issue
// 16, "Also deliver"): rounds on one table (a new one every few rounds, so
// that the hash index keeps resizing) in which
//  1. a writer of this library with record locking adds, replaces and
//     removes values of 1 to 4000 words and is killed with SIGKILL, either
//     at a random time or just before a random one of its stores into shared
//     memory (the static library's crash point), which lands in resizes too;
//  2. the parent opens the table (the automatic recovery), netshm_check must
//     find nothing, and the bindings must be the model's with the operation
//     in flight wholly done or wholly undone;
//  3. the real OCamlnet Netshm (test/interop's helper, record locking) finds
//     every key's bindings, adds, replaces and removes, and finds them all
//     again; both lists must be the model's;
//  4. this library checks the table and its bindings once more.
// The kills that hit a write are counted by the intent record (page 0 word
// 20) they left; some must hit each of add, replace, remove and a resize.
//
// NETSHM_OCAML_HELPER names the helper (meson sets it);
// NETSHM_KILL_INTEROP_ROUNDS sets the rounds (default 200; 'stress' runs
// 2000), NETSHM_KILL_INTEROP_SEED the seed.
#include "crash_journal.hpp"
#include "process_helpers.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <vector>

namespace {

using crash_test::encode;
using crash_test::key_of;
using crash_test::op_kind;
using crash_test::shared_journal;
using netshm_test::child;
using netshm_test::env_number;
using netshm_test::pipe_fds;
using netshm_test::receive_byte;
using netshm_test::scratch_names;
using netshm_test::send_byte;
using netshm_test::sleep_us;

constexpr unsigned child_seconds = 30;
constexpr int rounds_per_table = 4;
constexpr int ocaml_ops_per_round = 60;
constexpr std::int32_t intent_word = 20;
constexpr std::int32_t version_mask = (1 << crash_test::version_bits) - 1;

// One binding of the model: the version its words encode and its length.
struct binding {
    std::int32_t version;
    std::int32_t len;
    bool operator==(const binding &) const = default;
};

// Every key index's bindings, newest last; the number of key indexes used.
struct model {
    std::vector<std::vector<binding>> stacks = std::vector<std::vector<binding>>(crash_test::max_keys);
    int keys_used = 0;
    int bound = 0;

    void apply(op_kind op, int index, binding b)
    {
        auto &stack = stacks[index];
        const bool was_bound = !stack.empty();
        if (op != op_kind::add && was_bound)
            stack.pop_back();
        if (op != op_kind::remove)
            stack.push_back(b);
        bound += static_cast<int>(!stack.empty()) - static_cast<int>(was_bound);
        keys_used = std::max(keys_used, index + 1);
    }

    // An operation at random: adds (of new keys, so that the index resizes,
    // and stacked on bound ones), replaces and removes of bound keys.
    std::pair<op_kind, int> pick(std::mt19937_64 &rng) const
    {
        const unsigned r = rng() % 100;
        if (bound == 0 || (r < 30 && keys_used < crash_test::max_keys))
            return {op_kind::add, keys_used};
        int index;
        do
            index = static_cast<int>(rng() % static_cast<unsigned>(keys_used));
        while (stacks[index].empty());
        return {r < 45 ? op_kind::add : r < 75 ? op_kind::replace : op_kind::remove, index};
    }
};

// Value lengths: mostly a few words, some spanning dozens of pages.
std::size_t value_length(std::mt19937_64 &rng, std::size_t max_words)
{
    const unsigned r = rng() % 100;
    const std::size_t len = r < 60 ? 1 + rng() % 16 : r < 85 ? 17 + rng() % 200 : 217 + rng() % (max_words - 217);
    return std::min(len, max_words);
}

// Where the writer dies: a crash point (`store` >= 1: just before its n-th
// store), one at a random store of its first hash resize (`in_resize`), or
// the parent's kill at a random time (neither).
struct kill_plan {
    std::int64_t store = 0;
    bool in_resize = false;
};

// The cells of the hash index when the next claim of a cell resizes it (the
// rule of table::probe_for_addition), 0 when it does not.
std::uint64_t cells_to_rehash(netshm_table *table)
{
    netshm_stats stats{};
    stats.struct_size = sizeof stats;
    const bool resizes = netshm_stat(table, &stats) == NETSHM_OK && 2 * stats.claimed_cells > stats.hash_cells;
    return resizes ? stats.hash_cells : 0;
}

// The writer: from the parent's model, journals each operation (version
// `first_version` + its index), does it, counts it done; runs until killed.
std::string run_writer(const std::string &name, model m, shared_journal &j, std::int32_t first_version,
                       const kill_plan &plan, std::uint64_t seed, int ready_fd)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
        netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table) != NETSHM_OK)
        std::snprintf(j.writer_error, sizeof j.writer_error, "open/manage: %s", netshm_last_error());
    send_byte(ready_fd);
    if (table == nullptr)
        ::pause();
    netshm_testing_kill_before_store(plan.store);
    std::mt19937_64 rng(seed);
    std::vector<std::int32_t> value(4000);
    for (std::int32_t i = 0; i < crash_test::journal_capacity; ++i) {
        const auto [op, index] = m.pick(rng);
        const std::int32_t len = op == op_kind::remove ? 0 : static_cast<std::int32_t>(value_length(rng, value.size()));
        auto &entry = j.entries[i];
        entry.op.store(static_cast<std::int32_t>(op), std::memory_order_relaxed);
        entry.key_index.store(index, std::memory_order_relaxed);
        entry.len.store(len, std::memory_order_relaxed);
        j.started.store(i + 1, std::memory_order_release);
        std::fill_n(value.begin(), len, encode(index, first_version + i));
        // A new key claims a cell; a resize stores into each cell it rehashes.
        if (const auto cells = plan.in_resize && index == m.keys_used ? cells_to_rehash(table) : 0; cells > 0)
            netshm_testing_kill_before_store(1 + static_cast<std::int64_t>(rng() % cells));
        const int rc = op == op_kind::add       ? netshm_add(table, key_of(index), value.data(), len)
                       : op == op_kind::replace ? netshm_replace(table, key_of(index), value.data(), len)
                                                : netshm_remove(table, key_of(index));
        if (rc != NETSHM_OK) {
            std::snprintf(j.writer_error, sizeof j.writer_error, "%s: %s", crash_test::op_name(op), netshm_last_error());
            break;
        }
        m.apply(op, index, {first_version + i, len});
        j.done.store(i + 1, std::memory_order_release);
    }
    ::pause();
    return "not killed";
}

// Bindings as a list of (key index, newest-first stack); what is wrong with
// `words` as a value of key index `index` is added to `wrong`.
binding decode(int index, const std::int32_t *words, std::size_t len, std::string &wrong)
{
    const std::int32_t version = len > 0 ? words[0] & version_mask : 0;
    for (std::size_t i = 0; i < len; ++i)
        if (words[i] != encode(index, version) && wrong.empty())
            wrong = "key index " + std::to_string(index) + ": word " + std::to_string(i) + " torn or misplaced";
    return {version, static_cast<std::int32_t>(len)};
}

struct found_bindings {
    std::vector<std::vector<binding>> stacks = std::vector<std::vector<binding>>(crash_test::max_keys);
    std::map<std::int32_t, int> index_of;
    std::string wrong;
};

int collect(std::int32_t key, const std::int32_t *value, std::size_t len, void *ctx)
{
    auto &f = *static_cast<found_bindings *>(ctx);
    const auto index = f.index_of.find(key);
    if (index == f.index_of.end()) {
        f.wrong = "a key no writer used: " + std::to_string(key);
        return 0;
    }
    // Newest first, as netshm_iter gives them: reversed once all are in.
    f.stacks[index->second].push_back(decode(index->second, value, len, f.wrong));
    return 0;
}

int note_problem(const netshm_problem *problem, void *ctx)
{
    auto &messages = *static_cast<std::string *>(ctx);
    if (messages.size() < 300)
        messages += std::string(problem->message) + "; ";
    return 0;
}

// This library's view: opens the table (recovering a dead writer's write),
// checks it and collects its bindings, or says what failed.
std::string read_table(const std::string &name, found_bindings &f, int keys_used)
{
    auto descr = netshm_test::open_ok(NETSHM_TYPE_FILE, name, O_RDWR);
    netshm_table *table = nullptr;
    if (netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, 0, -1, &table) != NETSHM_OK)
        return std::string("manage: ") + netshm_last_error();
    netshm_test::table_ptr owner(table);
    std::string problems;
    if (const int rc = netshm_check(table, note_problem, &problems); rc != 0)
        return "netshm_check: " + std::to_string(rc) + " problems: " + problems;
    for (int i = 0; i < keys_used; ++i)
        f.index_of[key_of(i)] = i;
    if (netshm_iter(table, collect, &f) != NETSHM_OK)
        return std::string("iter: ") + netshm_last_error();
    for (auto &stack : f.stacks)
        std::reverse(stack.begin(), stack.end());
    return f.wrong;
}

// The first key index whose bindings differ, described, or nothing.
std::string compare(const std::vector<std::vector<binding>> &found, const model &m)
{
    for (int i = 0; i < crash_test::max_keys; ++i)
        if (found[i] != m.stacks[i])
            return "key index " + std::to_string(i) + ": " + std::to_string(found[i].size()) + " bindings, the model " +
                   std::to_string(m.stacks[i].size()) +
                   (found[i].empty() || m.stacks[i].empty() ? ""
                                                             : ", newest versions " +
                                                                   std::to_string(found[i].back().version) + " and " +
                                                                   std::to_string(m.stacks[i].back().version));
    return {};
}

// The stacks of a helper transcript's "findall" lines from line `first` on
// (`count` of them, key index i on line first + i).
std::string parse_findalls(const std::string &transcript, int first, int count, found_bindings &f)
{
    std::istringstream lines(transcript);
    std::string line;
    int seen = 0;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        int ln = 0;
        std::string op, key, equals;
        words >> ln >> op >> key >> equals;
        if (op != "findall" || ln < first || ln >= first + count)
            continue;
        const int index = ln - first;
        if (std::stoll(key) != key_of(index))
            return "transcript line " + std::to_string(ln) + " is about key " + key;
        ++seen;
        std::vector<std::int32_t> value;
        for (std::string word; words >> word;) {
            if (word == "none")
                break;
            if (word == ";")
                continue;
            value.resize(std::stoul(word.substr(1)));
            for (auto &w : value)
                words >> w;
            f.stacks[index].push_back(decode(index, value.data(), value.size(), f.wrong));
        }
        std::reverse(f.stacks[index].begin(), f.stacks[index].end()); // findall gives the newest first
    }
    if (seen != count)
        return std::to_string(seen) + " findall lines from OCaml, " + std::to_string(count) + " expected";
    return f.wrong;
}

std::string ocaml_helper()
{
    const char *path = std::getenv("NETSHM_OCAML_HELPER");
    REQUIRE(path != nullptr);
    return path;
}

// OCamlnet's turn: finds every key (the table as this library left it),
// writes, finds every key again; `m` becomes the model after its writes.
std::string run_ocaml(const std::string &name, unsigned pagesize, model &m, std::int32_t &next_version,
                      std::mt19937_64 &rng)
{
    const std::string script_path = name + ".script";
    std::ofstream script(script_path);
    const int keys_before = m.keys_used;
    for (int i = 0; i < keys_before; ++i)
        script << "findall " << key_of(i) << '\n';
    model after = m;
    for (int n = 0; n < ocaml_ops_per_round; ++n) {
        const auto [op, index] = after.pick(rng);
        const std::int32_t len = op == op_kind::remove ? 0 : static_cast<std::int32_t>(value_length(rng, 600));
        const std::int32_t version = next_version++;
        script << crash_test::op_name(op) << ' ' << key_of(index);
        for (std::int32_t w = 0; w < len; ++w)
            script << ' ' << encode(index, version);
        script << '\n';
        after.apply(op, index, {version, len});
    }
    for (int i = 0; i < after.keys_used; ++i)
        script << "findall " << key_of(i) << '\n';
    script.close();
    const std::string command =
        "'" + ocaml_helper() + "' '" + name + "' " + std::to_string(pagesize) + " none '" + script_path + "' 2>&1";
    FILE *helper = ::popen(command.c_str(), "r");
    REQUIRE(helper != nullptr);
    std::string transcript;
    char chunk[65536];
    for (std::size_t got; (got = std::fread(chunk, 1, sizeof chunk, helper)) > 0;)
        transcript.append(chunk, got);
    const int status = ::pclose(helper);
    if (status != 0)
        return "the OCaml helper failed (" + std::to_string(status) + "): " + transcript.substr(0, 300);
    found_bindings before_writes, after_writes;
    std::string failure = parse_findalls(transcript, 1, keys_before, before_writes);
    if (failure.empty() && (failure = compare(before_writes.stacks, m)).empty() &&
        (failure = parse_findalls(transcript, 1 + keys_before + ocaml_ops_per_round, after.keys_used, after_writes))
            .empty())
        failure = compare(after_writes.stacks, after);
    m = after;
    return failure.empty() ? failure : "OCaml: " + failure;
}

std::int32_t intent_at_kill(const std::string &path)
{
    std::int32_t words[intent_word + 1] = {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pread(fd, words, sizeof words, 0) == static_cast<ssize_t>(sizeof words));
    ::close(fd);
    return words[intent_word];
}

const char *intent_name(std::int32_t op)
{
    static const char *const names[] = {"none", "add", "replace", "remove", "resize", "resize", "re-initialisation"};
    return op >= 0 && op <= 6 ? names[op] : "invalid";
}

struct table_state {
    scratch_names names;
    std::string name;
    unsigned pagesize = 0;
    model m;
    std::int32_t next_version = 1;
};

// Kills a writer, checks the recovered table, lets OCaml write, checks
// again; the failure, or nothing.  `intents` counts the kills by the intent
// each left.
std::string run_round(table_state &s, shared_journal &j, std::mt19937_64 &rng, std::map<std::string, int> &intents)
{
    j.reset();
    // A third of the kills each: at a random time (1 µs to 20 ms), at a
    // crash point among the first 100,000 stores, in a resize (both
    // log-uniform).
    const unsigned kind = rng() % 3;
    const auto log_uniform = [&](double top) {
        return std::exp(std::uniform_real_distribution<double>(0, std::log(top))(rng));
    };
    const kill_plan plan{kind == 1 ? static_cast<std::int64_t>(log_uniform(100000.0)) : 0, kind == 2};
    const double delay_us = kind == 0 ? log_uniform(20000.0) : 0;
    const std::uint64_t seed = rng();
    pipe_fds ready;
    child writer(child_seconds,
                 [&] { return run_writer(s.name, s.m, j, s.next_version, plan, seed, ready.write_end()); });
    REQUIRE(receive_byte(ready.read_end(), 10000).has_value());
    if (kind != 0)
        writer.exited_within(5000);
    else
        sleep_us(delay_us);
    writer.kill_now();
    ++intents[intent_name(intent_at_kill(s.name))];
    if (j.writer_error[0] != '\0')
        return std::string("writer: ") + j.writer_error;

    // The writer's completed operations, and the one in flight if the
    // recovery finished it.
    const std::int32_t done = j.done.load();
    for (std::int32_t i = 0; i < done; ++i)
        s.m.apply(static_cast<op_kind>(j.entries[i].op.load()), j.entries[i].key_index.load(),
                  {s.next_version + i, j.entries[i].len.load()});
    found_bindings recovered;
    std::string failure = read_table(s.name, recovered, crash_test::max_keys);
    if (!failure.empty())
        return "after the kill: " + failure;
    if (!compare(recovered.stacks, s.m).empty() && j.started.load() > done) {
        const auto &e = j.entries[done];
        s.m.apply(static_cast<op_kind>(e.op.load()), e.key_index.load(), {s.next_version + done, e.len.load()});
    }
    s.next_version += j.started.load();
    if (!(failure = compare(recovered.stacks, s.m)).empty())
        return "after the kill, neither before nor after the operation in flight: " + failure;

    if (!(failure = run_ocaml(s.name, s.pagesize, s.m, s.next_version, rng)).empty())
        return failure;
    found_bindings after_ocaml;
    if (!(failure = read_table(s.name, after_ocaml, crash_test::max_keys)).empty() ||
        !(failure = compare(after_ocaml.stacks, s.m)).empty())
        return "after OCaml's writes: " + failure;
    return {};
}

TEST_CASE("record crash with OCamlnet writing between kills: every committed binding stays findable",
          "[interop][record]")
{
    const auto rounds = static_cast<int>(env_number("NETSHM_KILL_INTEROP_ROUNDS", 200));
    const std::uint64_t seed = env_number("NETSHM_KILL_INTEROP_SEED", 0x6b696c6cULL);
    netshm_test::bound_test_time(static_cast<unsigned>(30 + rounds * 3));
    // Microsecond delays need a tight timer slack (the default is 50 µs).
    ::prctl(PR_SET_TIMERSLACK, 1UL);
    void *memory = ::mmap(nullptr, sizeof(shared_journal), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(memory != MAP_FAILED);
    auto *journal = new (memory) shared_journal;
    std::mt19937_64 rng(seed);
    std::map<std::string, int> intents;
    std::vector<std::string> failures;
    std::unique_ptr<table_state> state;
    for (int round = 0; round < rounds; ++round) {
        if (round % rounds_per_table == 0) {
            state = std::make_unique<table_state>();
            state->name = state->names.fresh(NETSHM_TYPE_FILE);
            state->pagesize = rng() % 2 == 0 ? 160 : 256;
            auto descr = netshm_test::open_ok(NETSHM_TYPE_FILE, state->name, O_RDWR | O_CREAT | O_EXCL);
            netshm_test::manage_ok(descr.get(), state->pagesize, 0, NETSHM_RECORD_LOCKING).reset();
        }
        const std::string failure = run_round(*state, *journal, rng, intents);
        if (!failure.empty()) {
            failures.push_back("round " + std::to_string(round) + ": " + failure.substr(0, 400));
            state.reset();
            if (round % rounds_per_table != rounds_per_table - 1)
                round += rounds_per_table - 1 - round % rounds_per_table; // a new table next
        }
    }
    ::munmap(memory, sizeof(shared_journal));

    std::string histogram;
    for (const auto &[what, count] : intents)
        histogram += (histogram.empty() ? "" : ", ") + what + " " + std::to_string(count);
    std::printf("record crash with OCaml writes: %d rounds (seed %llu), %zu failed; kills by intent left: %s\n", rounds,
                static_cast<unsigned long long>(seed), failures.size(), histogram.c_str());
    std::fflush(stdout);
    for (const auto &failure : failures)
        UNSCOPED_INFO(failure);
    CHECK(failures.empty());
    // The crash points must land in every kind of write, resizes included.
    for (const char *kind : {"add", "replace", "remove", "resize"}) {
        INFO("kills during a " << kind);
        CHECK(intents[kind] > 0);
    }
}

} // namespace
