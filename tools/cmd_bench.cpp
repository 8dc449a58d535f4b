// netshm bench: a standard workload on a scratch table, in operations per second.
#include "arguments.hpp"
#include "bench_mixed.hpp"
#include "bench_scratch_object.hpp"
#include "bench_workload.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "parse_integer.hpp"
#include "stat_report.hpp"

#include <netshm.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fmt/format.h>
#include <iterator>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace netshm_tool {

namespace {

using namespace bench;

constexpr option_spec options[] = {
    {"--keys", "N", "distinct keys (default 100000)"},
    {"--ops", "N", "operations per process in each mixed phase (default 30000)"},
    {"--processes", "LIST", "process counts of the mixed phases, comma-separated (default 1,2,4)"},
    {"--pagesize", "P", "page size of the table in bytes (default 256)"},
    {"--locking", "MODE", "record, mutex or none (default: record and mutex, side by side)"},
    {"--json", "", "print the results as JSON"},
};

constexpr int max_processes = 64;
// Keys per netshm_find_many call in the find_many phase.
constexpr std::size_t find_many_batch = 64;

struct phase_row {
    std::string name;
    int processes;
    std::uint64_t ops;
    double seconds;
    double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0.0; }
};

std::vector<int> process_counts(const arguments &args)
{
    std::string list = args.value("--processes").value_or("1,2,4");
    std::vector<int> counts;
    for (std::size_t start = 0; start <= list.size();) {
        std::size_t end = std::min(list.find(',', start), list.size());
        std::optional<int> n = parse_integer<int>(std::string_view(list).substr(start, end - start));
        if (!n || *n < 1 || *n > max_processes)
            throw usage_error(fmt::format("--processes '{}' is not a list of numbers from 1 to {}", list,
                                          max_processes));
        counts.push_back(*n);
        start = end + 1;
    }
    return counts;
}

template <class F>
double seconds_of(F &&work)
{
    auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

[[noreturn]] void fail(const std::string &message) { throw std::runtime_error(message); }

// The table holds exactly one well-formed binding per key: returns the sum of
// the keys' replace counts.
std::uint64_t verify_table(netshm::table &table, const std::vector<std::int32_t> &sorted_keys)
{
    std::vector<std::int32_t> seen;
    std::uint64_t count_sum = 0;
    table.iter([&](std::int32_t key, std::span<const std::int32_t> value) {
        std::optional<std::uint32_t> count = count_of(key, value);
        if (!count)
            fail(fmt::format("verify: key {} holds a malformed value: {}", key, fmt::join(value, " ")));
        count_sum += *count;
        seen.push_back(key);
    });
    std::sort(seen.begin(), seen.end());
    if (seen != sorted_keys)
        fail(fmt::format("verify: the table holds {} bindings of other keys than the {} loaded", seen.size(),
                         sorted_keys.size()));
    if (std::size_t length = table.length(); length != sorted_keys.size())
        fail(fmt::format("verify: length is {}, expected {}", length, sorted_keys.size()));
    return count_sum;
}

struct bench_report {
    netshm::locking locking;
    std::string object;
    unsigned pagesize;
    std::size_t keys;
    std::vector<phase_row> rows;
    std::uint64_t replaces_verified;
    netshm::stats stats;
};

// The single-process phases: load, find, find_many, replace, iterate, remove.
void run_single_process_phases(netshm::table &table, const std::vector<std::int32_t> &keys,
                               std::vector<phase_row> &rows)
{
    const std::uint64_t n = keys.size();
    rows.push_back({"load (add)", 1, n, seconds_of([&] {
                        for (std::int32_t key : keys)
                            table.add(key, value_of(key, 0));
                    })});
    std::vector<std::int32_t> found;
    rows.push_back({"find", 1, n, seconds_of([&] {
                        for (std::int32_t key : keys)
                            if (!table.find_into(key, found) || count_of(key, found) != 0u)
                                fail(fmt::format("find: key {} does not hold the value added", key));
                    })});
    netshm::found_values batch;
    rows.push_back({"find_many (64)", 1, n, seconds_of([&] {
                        for (std::size_t first = 0; first < keys.size(); first += find_many_batch) {
                            std::span<const std::int32_t> chunk(keys.data() + first,
                                                                std::min(find_many_batch, keys.size() - first));
                            table.find_many(chunk, batch);
                            for (std::size_t i = 0; i < chunk.size(); ++i)
                                if (!batch[i] || count_of(chunk[i], *batch[i]) != 0u)
                                    fail(fmt::format("find_many: key {} does not hold the value added", chunk[i]));
                        }
                    })});
    rows.push_back({"replace", 1, n, seconds_of([&] {
                        for (std::int32_t key : keys)
                            table.replace(key, value_of(key, 1));
                    })});
    std::uint64_t visited = 0;
    rows.push_back({"iterate (bindings)", 1, n, seconds_of([&] {
                        table.iter([&](std::int32_t key, std::span<const std::int32_t> value) {
                            if (count_of(key, value) != 1u)
                                fail(fmt::format("iterate: key {} does not hold the value replaced", key));
                            ++visited;
                        });
                    })});
    if (visited != n)
        fail(fmt::format("iterate: {} bindings visited, expected {}", visited, n));
    rows.push_back({"remove", 1, n, seconds_of([&] {
                        for (std::int32_t key : keys)
                            table.remove(key);
                    })});
    if (std::size_t length = table.length(); length != 0)
        fail(fmt::format("remove: {} bindings left", length));
}

// Without locking, processes would corrupt the table: no mixed phases.
bench_report run_bench(const arguments &args, netshm::locking locking)
{
    auto n = static_cast<std::size_t>(args.number("--keys", 100000, 1, INT32_MAX));
    std::uint64_t ops = args.number("--ops", 30000, 1);
    std::vector<int> processes = locking == netshm::locking::none ? std::vector<int>{} : process_counts(args);
    unsigned pagesize = pagesize_of(args, 256);
    std::vector<std::int32_t> keys = make_keys(n);
    std::vector<std::int32_t> sorted_keys = keys;
    std::sort(sorted_keys.begin(), sorted_keys.end());

    scratch_object object("/netshm-bench-XXXXXXXX");
    // The default size hint (1000 keys): the load phase grows the hash table.
    auto table = netshm::table::manage(object.descriptor(), locking, pagesize);
    bench_report report{locking, object.name(), pagesize, n, {}, 0, {}};
    run_single_process_phases(table, keys, report.rows);

    // The mixed phases find and replace live keys: bind them again.
    for (std::int32_t key : keys)
        table.add(key, value_of(key, 0));
    std::uint64_t count_sum = 0;
    for (int p : processes) {
        mixed_result mixed = run_mixed(object.name(), locking, keys, p, ops);
        report.rows.push_back({"mixed 90/10", p, mixed.finds + mixed.replaces, mixed.seconds});
        std::uint64_t after = verify_table(table, sorted_keys);
        if (after - count_sum != mixed.replaces)
            fail(fmt::format("verify: the processes replaced {} times but the values count {} (lost updates)",
                             mixed.replaces, after - count_sum));
        count_sum = after;
        report.replaces_verified += mixed.replaces;
    }
    report.stats = table.stat();
    return report;
}

std::string_view name_of(netshm::locking locking)
{
    switch (locking) {
    case netshm::locking::record: return "record";
    case netshm::locking::mutex: return "mutex";
    case netshm::locking::none: break;
    }
    return "none";
}

// --locking: one mode; absent, record and mutex locking side by side.
std::vector<netshm::locking> modes_of(const arguments &args)
{
    std::optional<std::string> word = args.value("--locking");
    if (!word)
        return {netshm::locking::record, netshm::locking::mutex};
    for (netshm::locking mode : {netshm::locking::record, netshm::locking::mutex, netshm::locking::none})
        if (*word == name_of(mode))
            return {mode};
    throw usage_error(fmt::format("--locking '{}' is not one of record, mutex, none", *word));
}

// "record locking", "mutex locking", "no locking".
std::string label_of(netshm::locking locking)
{
    return locking == netshm::locking::none ? "no locking" : fmt::format("{} locking", name_of(locking));
}

// The phases of every run in columns side by side (the runs did the same
// phases), within 80 columns for two runs.
std::string phase_table(std::span<const bench_report> runs)
{
    std::string text;
    if (runs.size() > 1) {
        text = fmt::format("{:37}", "");
        for (const bench_report &r : runs)
            fmt::format_to(std::back_inserter(text), " {:>20}", label_of(r.locking));
        text += "\n";
    }
    fmt::format_to(std::back_inserter(text), "{:<18} {:>9} {:>8}", "phase", "processes", "ops");
    for (std::size_t i = 0; i < runs.size(); ++i)
        fmt::format_to(std::back_inserter(text), " {:>8} {:>11}", "seconds", "ops/s");
    text += "\n";
    for (std::size_t row = 0; row < runs[0].rows.size(); ++row) {
        const phase_row &first = runs[0].rows[row];
        fmt::format_to(std::back_inserter(text), "{:<18} {:>9} {:>8}", first.name, first.processes, first.ops);
        for (const bench_report &r : runs)
            fmt::format_to(std::back_inserter(text), " {:>8.3f} {:>11.0f}", r.rows[row].seconds, r.rows[row].rate());
        text += "\n";
    }
    return text;
}

std::string report_text(std::span<const bench_report> runs)
{
    const bench_report &r = runs[0];
    std::string text;
    if (runs.size() == 1) {
        text = fmt::format("netshm bench: {}, page size {}, {} keys, values of {} words, {}\n\n", r.object,
                           r.pagesize, r.keys, value_words, label_of(r.locking));
    } else {
        text = fmt::format("netshm bench: page size {}, {} keys, values of {} words, on", r.pagesize, r.keys,
                           value_words);
        for (const bench_report &run : runs)
            fmt::format_to(std::back_inserter(text), "{}\n  {} with {}", &run == &r ? "" : ",", run.object,
                           label_of(run.locking));
        text += "\n\n";
    }
    text += phase_table(runs);
    if (r.locking == netshm::locking::none) {
        text += "\nmixed 90/10: not run, no locking keeps processes apart.\niterate: bindings per second.\n";
    } else {
        fmt::format_to(std::back_inserter(text),
                       "\nmixed 90/10: each process opens the object itself after fork, then finds (90 %)\n"
                       "and replaces (10 %) through {}.\n"
                       "iterate: bindings per second.\n"
                       "verified after each mixed phase: {} bindings, one per key, every value\n"
                       "well-formed, replaces counted:",
                       mixed_replace_method, r.keys);
        for (const bench_report &run : runs)
            fmt::format_to(std::back_inserter(text), "{} {}{}", &run == &r ? "" : ",", run.replaces_verified,
                           runs.size() > 1 ? fmt::format(" ({})", label_of(run.locking)) : "");
        text += ".\n";
    }
    fmt::format_to(std::back_inserter(text), "\ntable after the run{}:\n{}",
                   runs.size() > 1 ? fmt::format(" ({})", label_of(r.locking)) : "", stat_text(r.stats, "  "));
    return text;
}

std::string report_json(const bench_report &r)
{
    std::string phases;
    for (const phase_row &row : r.rows)
        fmt::format_to(std::back_inserter(phases),
                       "{}{{\"phase\":\"{}\",\"processes\":{},\"ops\":{},\"seconds\":{:.6f},\"ops_per_second\":{:.0f}}}",
                       phases.empty() ? "" : ",", row.name, row.processes, row.ops, row.seconds, row.rate());
    // The object's name is the template's characters and [0-9A-Z]: nothing to escape.
    return fmt::format("{{\"object\":\"{}\",\"locking\":\"{}\",\"pagesize\":{},\"keys\":{},\"value_words\":{},"
                       "\"mixed_replace\":\"{}\",\"phases\":[{}],\"replaces_verified\":{},\"stat\":{}}}",
                       r.object, name_of(r.locking), r.pagesize, r.keys, value_words, mixed_replace_method, phases,
                       r.replaces_verified, stat_json(r.stats));
}

// One run: its object.  Several: {"runs":[...]}, one object each.
std::string report_json(std::span<const bench_report> runs)
{
    if (runs.size() == 1)
        return report_json(runs[0]) + "\n";
    std::string text = "{\"runs\":[";
    for (std::size_t i = 0; i < runs.size(); ++i)
        text += (i == 0 ? "" : ",") + report_json(runs[i]);
    return text + "]}\n";
}

int run(const arguments &args)
{
    args.expect_positionals(0, 0);
    std::vector<bench_report> runs;
    for (netshm::locking mode : modes_of(args))
        runs.push_back(run_bench(args, mode));
    fmt::print("{}", args.flag("--json") ? report_json(runs) : report_text(runs));
    return exit_ok;
}

} // namespace

const command bench_command{
    "bench", "[--keys N] [--ops N] [--processes LIST] [--pagesize P] [--locking MODE] [--json]",
    "measure a standard workload",
    "Creates a table in a new POSIX object /netshm-bench-XXXXXXXX and measures, in\n"
    "operations per second: load (add N distinct keys, values of 4 words), find (N\n"
    "hits, values checked), replace (N), iterate (one pass, bindings per second),\n"
    "remove (N); then, with the keys bound again, mixed phases of 1, 2 and 4 forked\n"
    "processes, each opening the object itself with the same locking and running\n"
    "--ops operations: 90 % find, 10 % replace through a write group { find;\n"
    "replace }. Every value read is checked (a torn read is an error) and the\n"
    "table is verified after each mixed phase (one binding per key, no update\n"
    "lost). By default the whole bench runs with record locking, then on a new\n"
    "object with mutex locking, and prints both side by side; --locking runs one\n"
    "(none: no mixed phases). Prints the results and the table's statistics. Each\n"
    "object is removed at the end of its run, also after an error or\n"
    "SIGINT/SIGTERM. Any failure exits with status 2.",
    options, run};

} // namespace netshm_tool
