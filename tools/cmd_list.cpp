// netshm list: the netshm objects of a directory.
#include "arguments.hpp"
#include "command.hpp"
#include "in_child_process.hpp"
#include "object_access.hpp"
#include "table_locking.hpp"

#include <netshm.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace netshm_tool {

namespace {

namespace fs = std::filesystem;

constexpr option_spec options[] = {locking_option};

// The first four words of every netshm (and OCamlnet Netshm) object: the
// master page's magic numbers, native-endian (doc/format.md).
constexpr std::array<std::uint32_t, 4> master_magic = {0xDE871209, 0xDE881209, 0xDE871309, 0xDE87120A};

struct listed_object {
    std::string name;
    std::uintmax_t bytes = 0;
    std::string pagesize = "-";
    std::string bindings = "-";
    std::string note;
};

bool starts_with_master_magic(const fs::path &path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    std::array<std::uint32_t, 4> words{};
    ssize_t n = ::read(fd, words.data(), sizeof words);
    ::close(fd);
    return n == static_cast<ssize_t>(sizeof words) && words == master_magic;
}

// Page size and bindings as a table opened for reading (with --locking), else
// why not.  Opened in a child process: list opens objects nobody named, which
// other programs may be truncating (tests, a re-created table), and touching a
// mapping past an object's new end kills the process that does (SIGBUS).
void describe(listed_object &object, netshm::shm_type type, const arguments &args)
{
    // The child's answer: page size, bindings and note, separated by NULs.
    child_outcome outcome = in_child_process([&]() -> std::string {
        try {
            object_ref listed{object.name, type, std::nullopt, lock_wait_of(args)};
            open_table opened = open_existing_table(listed, args, access::read_only);
            return fmt::format("{}{}{}{}", opened.table.memory().words_per_page * 4, '\0', opened.table.length(),
                               '\0');
        } catch (const std::exception &e) {
            return fmt::format("-{}-{}{}", '\0', '\0', e.what());
        }
    });
    std::size_t first = outcome.text.find('\0');
    std::size_t second = first == std::string::npos ? first : outcome.text.find('\0', first + 1);
    if (!outcome.failure.empty() || second == std::string::npos) {
        object.note = fmt::format("could not be read: the process reading it {} (the object may have been "
                                  "truncated meanwhile)",
                                  outcome.failure.empty() ? "gave no answer" : outcome.failure);
        return;
    }
    object.pagesize = outcome.text.substr(0, first);
    object.bindings = outcome.text.substr(first + 1, second - first - 1);
    object.note = outcome.text.substr(second + 1);
}

int run(const arguments &args)
{
    args.expect_positionals(0, 1);
    fs::path dir = args.positionals().empty() ? "/dev/shm" : args.positional(0);
    std::error_code ec;
    // Objects of /dev/shm are named as POSIX objects, "/name".
    bool posix = fs::equivalent(dir, "/dev/shm", ec);
    fs::directory_iterator entries(dir, ec);
    if (ec)
        throw std::system_error(ec, "open directory " + dir.string());

    std::vector<listed_object> found;
    for (const fs::directory_entry &entry : entries) {
        std::error_code unreadable;
        if (!entry.is_regular_file(unreadable) || entry.is_symlink(unreadable))
            continue;
        std::uintmax_t bytes = entry.file_size(unreadable);
        if (unreadable || !starts_with_master_magic(entry.path()))
            continue;
        listed_object &object = found.emplace_back();
        object.name = posix ? "/" + entry.path().filename().string() : entry.path().string();
        object.bytes = bytes;
        describe(object, posix ? netshm::shm_type::posix : netshm::shm_type::file, args);
    }
    std::sort(found.begin(), found.end(), [](const auto &a, const auto &b) { return a.name < b.name; });

    std::size_t width = 4;
    for (const listed_object &object : found)
        width = std::max(width, object.name.size());
    std::string text = fmt::format("{:<{}}  {:>12}  {:>8}  {:>10}\n", "NAME", width, "BYTES", "PAGESIZE", "BINDINGS");
    for (const listed_object &o : found)
        text += fmt::format("{:<{}}  {:>12}  {:>8}  {:>10}{}{}\n", o.name, width, o.bytes, o.pagesize, o.bindings,
                            o.note.empty() ? "" : "  ", o.note);
    fmt::print("{}", text);
    return exit_ok;
}

} // namespace

const command list_command{
    "list", "[DIR]", "list the netshm objects of a directory",
    "Lists the netshm objects of DIR (default /dev/shm): the regular files whose\n"
    "first 16 bytes are the four magic numbers of a netshm master page. Objects of\n"
    "/dev/shm are named \"/name\", as the other subcommands take POSIX objects.\n"
    "For each: its size in bytes and, opened as a read-only table, its page size and\n"
    "number of bindings; a table that cannot be opened shows \"-\" and the reason.\n"
    "Each table is opened in a child process, so that one another program truncates\n"
    "meanwhile (which kills a process reading it with SIGBUS) is reported, not fatal.\n"
    "Files that cannot be read are left out.",
    options, run};

} // namespace netshm_tool
