// The text formats of `netshm load`: one binding a line, and the text `netshm dump` prints.
#include "load_input.hpp"
#include "parse_integer.hpp"

#include <fmt/format.h>

namespace netshm_tool {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The words of a line, comments cut off.
std::vector<std::string_view> words_of(std::string_view line)
{
    line = line.substr(0, line.find('#'));
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        if (is_blank(line[i])) {
            ++i;
            continue;
        }
        std::size_t start = i;
        while (i < line.size() && !is_blank(line[i]))
            ++i;
        words.push_back(line.substr(start, i - start));
    }
    return words;
}

std::string_view trimmed(std::string_view text)
{
    std::size_t first = 0;
    while (first < text.size() && is_blank(text[first]))
        ++first;
    std::size_t last = text.size();
    while (last > first && is_blank(text[last - 1]))
        --last;
    return text.substr(first, last - first);
}

std::int32_t dump_number(std::string_view word, std::size_t line_number)
{
    word = trimmed(word);
    std::optional<std::int32_t> number = parse_integer<std::int32_t>(word);
    if (!number)
        throw input_error(fmt::format("line {}: {}", line_number, not_an_int32(word)));
    return *number;
}

// "K => [| V1; V2 |]" ("[|  |]": the empty value) into `bindings`.
void read_dump_binding(std::string_view line, std::size_t line_number, binding_list &bindings,
                       std::vector<std::int32_t> &value)
{
    std::size_t arrow = line.find(" => [|");
    if (arrow == std::string_view::npos || line.size() < arrow + 8 || !line.ends_with("|]"))
        throw input_error(fmt::format("line {}: expected \"KEY => [| V1; V2 |]\" or \">\"", line_number));
    std::int32_t key = dump_number(line.substr(0, arrow), line_number);
    std::string_view words = line.substr(arrow + 6, line.size() - arrow - 8);
    value.clear();
    if (!trimmed(words).empty()) {
        for (std::size_t start = 0;;) {
            std::size_t end = words.find(';', start);
            value.push_back(dump_number(words.substr(start, end - start), line_number));
            if (end == std::string_view::npos)
                break;
            start = end + 1;
        }
    }
    bindings.add(key, value);
}

std::string_view next_line(std::string_view &text)
{
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    return line;
}

} // namespace

load_input read_dump_text_input(std::string_view text)
{
    // Lines come newest first for each key: read them all, then reverse.
    binding_list newest_first;
    std::vector<std::int32_t> value;
    std::optional<std::uint64_t> length;
    bool ended = false;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        std::string_view line = trimmed(next_line(text));
        if (line.empty())
            continue;
        if (ended)
            throw input_error(fmt::format("line {}: text after the dump's closing \">\"", line_number));
        if (!length) {
            std::optional<std::uint64_t> n;
            if (line.starts_with("<shm length="))
                n = parse_integer<std::uint64_t>(line.substr(12));
            if (!n)
                throw input_error(fmt::format("line {}: expected \"<shm length=N\"", line_number));
            length = n;
        } else if (line == ">") {
            ended = true;
        } else {
            read_dump_binding(line, line_number, newest_first, value);
        }
    }
    if (!ended)
        throw input_error(fmt::format("line {}: the dump ends without its closing \">\"", line_number));
    if (*length != newest_first.size())
        throw input_error(fmt::format("line 1: \"length={}\" but the dump holds {} bindings", *length,
                                      newest_first.size()));
    return {newest_first.reversed(), std::nullopt};
}

load_input read_text_input(std::string_view text)
{
    load_input input;
    std::vector<std::int32_t> value;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        std::vector<std::string_view> words = words_of(next_line(text));
        if (words.empty())
            continue;
        value.clear();
        for (std::string_view word : words) {
            std::optional<std::int32_t> number = parse_integer<std::int32_t>(word);
            if (!number)
                throw input_error(fmt::format("line {}: {}", line_number, not_an_int32(word)));
            value.push_back(*number);
        }
        input.bindings.add(value[0], std::span(value).subspan(1));
    }
    return input;
}

} // namespace netshm_tool
