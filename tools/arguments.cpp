#include "arguments.hpp"

#include "parse_integer.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace netshm_tool {

namespace {

const option_spec *find_option(std::span<const option_spec> options, std::string_view name)
{
    auto found = std::find_if(options.begin(), options.end(), [&](const option_spec &o) { return o.name == name; });
    return found == options.end() ? nullptr : &*found;
}

// Standard input ("-"), negative numbers and words not starting with '-'.
bool is_positional(std::string_view word)
{
    return word == "-" || !word.starts_with('-') ||
           (word.size() > 1 && std::isdigit(static_cast<unsigned char>(word[1])));
}

} // namespace

arguments arguments::parse(const command &cmd, std::span<char *const> words)
{
    arguments args;
    args.command_name_ = cmd.name;
    bool options_ended = false;
    for (std::size_t i = 0; i < words.size(); ++i) {
        std::string_view word = words[i];
        if (options_ended || is_positional(word)) {
            args.positionals_.emplace_back(word);
            continue;
        }
        if (word == "--") {
            options_ended = true;
            continue;
        }
        if (word == "-h" || word == "--help") {
            args.help_ = true;
            continue;
        }
        if (word == "--quiet") {
            args.quiet_ = true;
            continue;
        }
        std::string_view name = word.substr(0, word.find('='));
        const option_spec *spec = find_option(cmd.options, name);
        if (spec == nullptr)
            spec = find_option(global_options, name);
        if (spec == nullptr)
            throw usage_error(fmt::format("unknown option {}", name));
        std::string value;
        if (name.size() < word.size()) {
            if (spec->value_name.empty())
                throw usage_error(fmt::format("option {} takes no value", name));
            value = word.substr(name.size() + 1);
        } else if (!spec->value_name.empty()) {
            if (i + 1 == words.size())
                throw usage_error(fmt::format("option {} needs a value", name));
            value = words[++i];
        }
        args.options_.insert_or_assign(std::string(name), std::move(value));
    }
    return args;
}

void arguments::expect_positionals(std::size_t min, std::size_t max) const
{
    if (positionals_.size() < min)
        throw usage_error("missing arguments");
    if (positionals_.size() > max)
        throw usage_error(fmt::format("unexpected argument '{}'", positionals_[max]));
}

std::int32_t arguments::positional_int32(std::size_t i, std::string_view what) const
{
    const std::string &text = positionals_.at(i);
    if (auto v = parse_integer<std::int32_t>(text))
        return *v;
    throw usage_error(fmt::format("{} {}", what, not_an_int32(text)));
}

std::optional<std::string> arguments::value(std::string_view name) const
{
    auto found = options_.find(name);
    if (found == options_.end())
        return std::nullopt;
    return found->second;
}

std::uint64_t arguments::number(std::string_view name, std::uint64_t fallback, std::uint64_t min,
                               std::uint64_t max) const
{
    std::optional<std::string> text = value(name);
    if (!text)
        return fallback;
    std::optional<std::uint64_t> v = parse_integer<std::uint64_t>(*text);
    if (!v || *v < min || *v > max)
        throw usage_error(fmt::format("{} '{}' is not a whole number from {} to {}", name, *text, min, max));
    return *v;
}

unsigned arguments::mode(std::string_view name, unsigned fallback) const
{
    std::optional<std::string> text = value(name);
    if (!text)
        return fallback;
    std::optional<unsigned> v = parse_integer<unsigned>(*text, 8);
    if (!v || *v > 07777)
        throw usage_error(fmt::format("{} '{}' is not an octal mode from 0 to 7777", name, *text));
    return *v;
}

} // namespace netshm_tool
