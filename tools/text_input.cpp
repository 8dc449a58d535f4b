// The text format of `netshm load`: one binding a line.
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

} // namespace

load_input read_text_input(std::string_view text)
{
    load_input input;
    std::vector<std::int32_t> value;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        std::vector<std::string_view> words = words_of(line);
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
