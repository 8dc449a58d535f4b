// A strict JSON reader (RFC 8259) for documents of a shape the caller knows.
//
// The caller asks for what it expects next (an object, an array, a string, an
// integer) and the reader checks the grammar as it goes: any text that is not
// JSON, or not what was asked for, fails with an input_error naming the line
// and column of the first byte at fault.  Nothing is kept but what the caller
// keeps, so large documents cost no more than their contents.
#pragma once

#include "load_input.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netshm_tool {

class json_reader {
public:
    explicit json_reader(std::string_view text) : text_(text) {}

    // '[' element (',' element)* ']' or '[]': element() reads each element.
    template <class F>
    void read_array(F &&element)
    {
        nesting level(*this);
        expect('[', "'['");
        if (consume(']'))
            return;
        do
            element();
        while (consume(','));
        expect(']', "',' or ']'");
    }

    // '{' member (',' member)* '}' or '{}': member(name, offset of the name)
    // reads each member's value.  A name given twice is an error.
    template <class F>
    void read_object(F &&member)
    {
        nesting level(*this);
        expect('{', "'{'");
        if (consume('}'))
            return;
        std::vector<std::string> seen;
        do {
            std::size_t name_offset = next_offset();
            std::string name = read_string();
            if (std::find(seen.begin(), seen.end(), name) != seen.end())
                fail_at(name_offset, "duplicate member \"" + name + "\"");
            seen.push_back(name);
            expect(':', "':'");
            member(name, name_offset);
        } while (consume(','));
        expect('}', "',' or '}'");
    }

    std::string read_string();
    // A number without fraction or exponent, from min to max.
    std::int64_t read_integer(std::int64_t min, std::int64_t max);
    // Fails unless only white space is left.
    void expect_end();
    // Where the next token starts (white space skipped).
    std::size_t next_offset();
    [[noreturn]] void fail_at(std::size_t offset, std::string_view message) const;

private:
    // The callers of read_array and read_object recurse once per level of
    // the document: bound the depth whatever shape they accept.
    static constexpr int max_depth = 64;

    class nesting {
    public:
        explicit nesting(json_reader &reader) : reader_(reader)
        {
            if (++reader_.depth_ > max_depth)
                reader_.fail_at(reader_.next_offset(), "nested deeper than 64 levels");
        }
        ~nesting() { --reader_.depth_; }
        nesting(const nesting &) = delete;
        nesting &operator=(const nesting &) = delete;

    private:
        json_reader &reader_;
    };

    void skip_white_space();
    bool consume(char c);
    void expect(char c, std::string_view expected);
    [[noreturn]] void fail_expecting(std::string_view expected);
    std::uint32_t read_hex4();
    void read_unicode_escape(std::string &out);

    std::string_view text_;
    std::size_t pos_ = 0;
    int depth_ = 0;
};

} // namespace netshm_tool
