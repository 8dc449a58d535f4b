// netshm salvage: every binding that can still be read from a damaged table,
// in dump's format; what was skipped goes to standard error.
//
// The object is never modified: its bytes are copied to a private temporary
// file, which is checked (the problems say which pages are damaged and why),
// repaired (netshm_repair keeps every intact binding in its order) and dumped.
#include "arguments.hpp"
#include "check_problems.hpp"
#include "command.hpp"
#include "dump_json.hpp"
#include "object_access.hpp"
#include "plural.hpp"
#include "progress_bar.hpp"
#include "salvage_counters.hpp"
#include "temporary_object.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <unistd.h>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--json", "", "print dump's JSON instead of its text"},
    pagesize_option,
};

[[noreturn]] void throw_errno(const std::string &what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

// The object's bytes, read as they are: no lock, no check.
std::string read_bytes(const std::string &path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        throw_errno("open " + path);
    std::string bytes;
    char buffer[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
        bytes.append(buffer, static_cast<std::size_t>(n));
    int error = errno;
    ::close(fd);
    if (n < 0) {
        errno = error;
        throw_errno("read " + path);
    }
    return bytes;
}

void write_bytes(const std::string &path, const std::string &bytes)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW);
    if (fd < 0)
        throw_errno("open " + path);
    for (std::size_t done = 0; done < bytes.size();) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            ::close(fd);
            throw_errno("write " + path);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0)
        throw_errno("close " + path);
}

std::string temporary_directory()
{
    const char *dir = std::getenv("TMPDIR");
    return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// The keys the index leads to, as far as it can be walked.
std::set<std::int32_t> readable_keys(netshm::table &table)
{
    std::set<std::int32_t> keys;
    try {
        table.iter_keys([&](std::int32_t key) { keys.insert(key); });
    } catch (const netshm::error &) {
        // A damaged index: the keys found so far are what it shows.
    }
    return keys;
}

void print_dump(netshm::table &table, bool json)
{
    if (json) {
        print_json_dump(table);
    } else {
        std::fflush(stdout);
        table.dump(STDOUT_FILENO);
    }
}

int nothing_readable(const std::function<void(std::string)> &say, const std::string &why, bool json)
{
    say(fmt::format("nothing could be read: {}", why));
    fmt::print("{}", json ? "{\"pagesize\":256,\"bindings\":0,\"keys\":[\n\n]}\n" : "<shm length=0\n>\n");
    return exit_negative;
}

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    const std::string &name = args.positional(0);
    bool json = args.flag("--json");
    temporary_object copy(netshm::shm_type::file, temporary_directory() + "/netshm-salvage-XXXXXXXX");
    // The library's messages name the copy: the user knows the object.
    auto say = [&](std::string what) {
        for (std::size_t at; (at = what.find(copy.name())) != std::string::npos;)
            what.replace(at, copy.name().size(), name);
        fmt::print(stderr, "netshm salvage: {}: {}\n", name, what);
    };
    auto manage_copy = [&] { return netshm::table::manage(copy.descriptor(), netshm::locking::none, pagesize_of(args)); };

    std::string bytes = read_bytes(path_of(type_of_name(name), name));
    write_bytes(copy.name(), bytes);
    netshm::table table;
    // The descriptor's binding count: what the salvaged bindings are measured against.
    std::optional<std::size_t> counted;
    try {
        table = manage_copy();
        counted = table.length();
    } catch (const netshm::corrupt_file &e) {
        std::optional<std::int32_t> d = reset_descriptor_counters(bytes);
        if (!d)
            return nothing_readable(say, e.what(), json);
        write_bytes(copy.name(), bytes);
        try {
            table = manage_copy();
        } catch (const netshm::corrupt_file &) {
            return nothing_readable(say, e.what(), json);
        }
        say(fmt::format("page {}: descriptor page: unreadable counters ({}): rebuilt by the repair", *d, e.what()));
    }
    for (const netshm::problem &p : with_activity("checking", [&] { return table.check(); }))
        say(problem_line(p));
    std::set<std::int32_t> keys_before = readable_keys(table);
    netshm::repair_report report{};
    try {
        report = with_activity("repairing", [&] { return table.repair(); });
    } catch (const netshm::corrupt_file &e) {
        return nothing_readable(say, e.what(), json);
    }
    std::size_t lost_keys = 0;
    for (std::int32_t key : keys_before) {
        if (!table.mem(key)) {
            say(fmt::format("key {}: skipped: every binding of it is damaged", key));
            ++lost_keys;
        }
    }
    std::uint64_t missing = counted && *counted > report.bindings_kept ? *counted - report.bindings_kept : 0;
    say(fmt::format("{} salvaged{}; {} skipped as damaged; {} lost entirely; {} neither free nor reachable "
                    "from the index",
                    plural(report.bindings_kept, "binding"),
                    counted ? fmt::format(" of the {} the descriptor counts", *counted) : "",
                    plural(report.bindings_dropped, "binding"), plural(lost_keys, "key"),
                    plural(report.pages_reclaimed, "page")));
    print_dump(table, json);
    return report.bindings_dropped > 0 || lost_keys > 0 || missing > 0 ? exit_negative : exit_ok;
}

} // namespace

const command salvage_command{
    "salvage", "OBJ [--json]", "print every binding still readable from a damaged table",
    "Prints every binding that can still be read from the table OBJ, in the format\n"
    "of `netshm dump` (of `netshm dump --json` with --json), which `netshm load`\n"
    "reads back. OBJ is never modified: its bytes are copied to a private\n"
    "temporary file ($TMPDIR, else /tmp), which is checked, repaired as `netshm\n"
    "repair` would, and dumped. Standard error says what was damaged (the\n"
    "problems of `netshm check`: pages and why), which keys were lost entirely, and\n"
    "how many bindings were skipped. Damaged descriptor counters are rebuilt; a\n"
    "descriptor page whose structure is damaged gives an empty dump. Exits with\n"
    "status 0 if nothing was skipped, 1 if anything was (or nothing could be\n"
    "read), 2 if OBJ could not be read. The bytes are read without a lock:\n"
    "salvage a table no writer is using.",
    options, run};

} // namespace netshm_tool
