// Filling tables: new ones appear complete or not at all (built under a
// temporary name beside their real one, then renamed), and bindings go in by
// write groups with a progress bar.
#pragma once

#include "load_input.hpp"
#include "object_access.hpp"

#include <cstdint>
#include <functional>
#include <string_view>

namespace netshm_tool {

struct new_table_spec {
    unsigned pagesize;  // 0: 256
    long long init;     // the hash table's size hint, in keys
    unsigned mode;      // the new object's permissions
};

// Builds the table under a temporary name, lets `fill` add to it, then gives
// it the object's name (and creates the object's --lock-file). An existing
// object is refused with netshm::exists, before any work and again at the
// rename, unless `replace`. A failure, SIGINT or SIGTERM leaves no new object.
void build_new_table(const object_ref &object, const new_table_spec &spec, bool replace,
                     const std::function<void(netshm::table &)> &fill);

// Whether the object exists (a dangling symbolic link counts: it would not be followed).
bool object_exists(const object_ref &object);

enum class load_mode { add_on_top, replace };

// Adds the bindings in their order, in write groups of `batch` bindings.
// With load_mode::replace the bindings must come grouped by key, and each
// key's bindings in the table are removed first, in the group that adds the
// key's first new one (a key's bindings never straddle two groups).
// A failure says how many bindings were added.
void add_bindings(netshm::table &table, const binding_list &bindings, std::uint64_t batch, load_mode how,
                  std::string_view label);

} // namespace netshm_tool
