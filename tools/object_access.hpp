// Objects as the command line names them, opened as tables.
//
// A name starting with '/' and containing no other '/' is a POSIX
// shared-memory object (/dev/shm/name); anything else is a file path.
// --lock-file PATH puts a POSIX object's record locks on a companion file, as
// OCamlnet 4.1.9 does.
#pragma once

#include "arguments.hpp"

#include <netshm.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netshm_tool {

inline constexpr option_spec lock_file_option{
    "--lock-file", "PATH", "lock the POSIX object through this file (as OCamlnet 4.1.9 does)"};
inline constexpr option_spec pagesize_option{
    "--pagesize", "P", "the table's page size in bytes (default 0: the table's own)"};

netshm::shm_type type_of_name(std::string_view name);

struct object_ref {
    std::string name;
    netshm::shm_type type;
    std::optional<std::string> lock_file;
    // --wait: the lock timeout of the descriptor and of its tables.
    std::chrono::milliseconds lock_wait;
};

// --wait SECONDS as a lock timeout (10 s when absent; 0: for ever).
std::chrono::milliseconds lock_wait_of(const arguments &args);

// The object of positional 0 with --lock-file (a usage error for a file object)
// and --wait.
object_ref object_of(const arguments &args);

// Opened, with the object's lock wait set on the descriptor.
netshm::descriptor open_object(const object_ref &object, int oflags, unsigned mode = 0600);

// --pagesize as manage takes it: `fallback` when absent (0 = the table's own).
unsigned pagesize_of(const arguments &args, unsigned fallback = 0);
// --init, the size hint of a new table: `fallback` when absent.
long long init_of(const arguments &args, std::uint64_t fallback);

// A table with the descriptor it lives on; the table closes first.
struct open_table {
    netshm::descriptor descr;
    netshm::table table;
};

enum class access { read_only, read_write };

// Opens the existing table of positional 0 (with --lock-file and --pagesize)
// under record locking; read-only tables take read locks only.
open_table open_existing_table(const arguments &args, access how);

} // namespace netshm_tool
