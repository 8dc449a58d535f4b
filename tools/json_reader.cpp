#include "json_reader.hpp"

#include "parse_integer.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace netshm_tool {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string &out, std::uint32_t code_point)
{
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
}

} // namespace

void json_reader::skip_white_space()
{
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
        ++pos_;
}

std::size_t json_reader::next_offset()
{
    skip_white_space();
    return pos_;
}

bool json_reader::consume(char c)
{
    skip_white_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
        ++pos_;
        return true;
    }
    return false;
}

void json_reader::expect(char c, std::string_view expected)
{
    if (!consume(c))
        fail_expecting(expected);
}

void json_reader::fail_expecting(std::string_view expected)
{
    if (pos_ == text_.size())
        fail_at(pos_, fmt::format("expected {}, found the end of the input", expected));
    auto byte = static_cast<unsigned char>(text_[pos_]);
    if (byte >= 0x20 && byte < 0x7F)
        fail_at(pos_, fmt::format("expected {}, found '{}'", expected, static_cast<char>(byte)));
    fail_at(pos_, fmt::format("expected {}, found the byte 0x{:02X}", expected, byte));
}

void json_reader::fail_at(std::size_t offset, std::string_view message) const
{
    std::string_view before = text_.substr(0, offset);
    std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    std::size_t line_start = before.rfind('\n');
    std::size_t column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    throw input_error(fmt::format("line {}, column {}: {}", line, column, message));
}

void json_reader::expect_end()
{
    if (next_offset() != text_.size())
        fail_expecting("the end of the input");
}

std::int64_t json_reader::read_integer(std::int64_t min, std::int64_t max)
{
    std::size_t start = next_offset();
    std::size_t end = start;
    if (end < text_.size() && text_[end] == '-')
        ++end;
    if (end == text_.size() || !is_digit(text_[end]))
        fail_expecting(fmt::format("an integer from {} to {}", min, max));
    if (text_[end] == '0' && end + 1 < text_.size() && is_digit(text_[end + 1]))
        fail_at(end, "a number cannot start with 0");
    while (end < text_.size() && is_digit(text_[end]))
        ++end;
    if (end < text_.size() && (text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E'))
        fail_at(start, "expected an integer, found a fraction or an exponent");
    std::optional<std::int64_t> value = parse_integer<std::int64_t>(text_.substr(start, end - start));
    if (!value || *value < min || *value > max)
        fail_at(start, fmt::format("{} is out of range: expected an integer from {} to {}",
                                   text_.substr(start, end - start), min, max));
    pos_ = end;
    return *value;
}

std::string json_reader::read_string()
{
    expect('"', "a string");
    std::string out;
    for (;;) {
        if (pos_ == text_.size())
            fail_at(pos_, "the string is not terminated");
        char c = text_[pos_];
        if (static_cast<unsigned char>(c) < 0x20)
            fail_at(pos_, "a control character in a string (it must be escaped)");
        ++pos_;
        if (c == '"')
            return out;
        if (c != '\\') {
            out += c;
            continue;
        }
        if (pos_ == text_.size())
            fail_at(pos_, "the string is not terminated");
        switch (char escaped = text_[pos_++]) {
        case '"':
        case '\\':
        case '/': out += escaped; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': read_unicode_escape(out); break;
        default: fail_at(pos_ - 2, "an invalid escape in a string");
        }
    }
}

std::uint32_t json_reader::read_hex4()
{
    std::string_view digits = text_.substr(pos_, 4);
    std::optional<std::uint32_t> value = parse_integer<std::uint32_t>(digits, 16);
    // from_chars takes no sign for unsigned types: four hex digits or nothing.
    if (digits.size() != 4 || !value)
        fail_at(pos_, "\\u needs four hexadecimal digits");
    pos_ += 4;
    return *value;
}

void json_reader::read_unicode_escape(std::string &out)
{
    std::size_t start = pos_ - 2;
    std::uint32_t unit = read_hex4();
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        fail_at(start, "a low surrogate without a high one");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (text_.substr(pos_, 2) != "\\u")
            fail_at(start, "a high surrogate without a low one");
        pos_ += 2;
        std::uint32_t low = read_hex4();
        if (low < 0xDC00 || low > 0xDFFF)
            fail_at(start, "a high surrogate without a low one");
        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, unit);
}

} // namespace netshm_tool
