// The JSON format of `netshm load`: what `netshm dump --json` prints.
#include "json_reader.hpp"
#include "load_input.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <limits>
#include <optional>

namespace netshm_tool {

namespace {

std::int32_t read_int32(json_reader &reader)
{
    return static_cast<std::int32_t>(
        reader.read_integer(std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()));
}

// {"key":K,"values":[[newest...],[older...]]}: adds the bindings oldest first,
// so that the table's stack of bindings is the dump's.
void read_key(json_reader &reader, binding_list &bindings)
{
    std::size_t start = reader.next_offset();
    std::optional<std::int32_t> key;
    std::optional<std::vector<std::vector<std::int32_t>>> values;
    reader.read_object([&](const std::string &name, std::size_t name_offset) {
        if (name == "key") {
            key = read_int32(reader);
        } else if (name == "values") {
            values.emplace();
            reader.read_array([&] {
                std::vector<std::int32_t> &value = values->emplace_back();
                reader.read_array([&] { value.push_back(read_int32(reader)); });
            });
        } else {
            reader.fail_at(name_offset, fmt::format("unknown member \"{}\" (a key has \"key\" and \"values\")", name));
        }
    });
    if (!key || !values)
        reader.fail_at(start, "a key needs the members \"key\" and \"values\"");
    for (auto value = values->rbegin(); value != values->rend(); ++value)
        bindings.add(*key, *value);
}

} // namespace

load_input read_json_input(std::string_view text)
{
    json_reader reader(text);
    load_input input;
    bool has_keys = false;
    std::optional<std::int64_t> declared_bindings;
    std::size_t declared_offset = 0;
    std::size_t start = reader.next_offset();
    reader.read_object([&](const std::string &name, std::size_t name_offset) {
        if (name == "pagesize") {
            input.pagesize = static_cast<unsigned>(reader.read_integer(0, std::numeric_limits<std::uint32_t>::max()));
        } else if (name == "bindings") {
            declared_offset = reader.next_offset();
            declared_bindings = reader.read_integer(0, std::numeric_limits<std::int64_t>::max());
        } else if (name == "keys") {
            has_keys = true;
            reader.read_array([&] { read_key(reader, input.bindings); });
        } else {
            reader.fail_at(name_offset, fmt::format("unknown member \"{}\" (the document has \"pagesize\", "
                                                    "\"bindings\" and \"keys\")",
                                                    name));
        }
    });
    reader.expect_end();
    if (!has_keys)
        reader.fail_at(start, "the document has no member \"keys\"");
    if (declared_bindings && static_cast<std::uint64_t>(*declared_bindings) != input.bindings.size())
        reader.fail_at(declared_offset, fmt::format("\"bindings\" says {} but the keys hold {}",
                                                    *declared_bindings, input.bindings.size()));
    return input;
}

} // namespace netshm_tool
