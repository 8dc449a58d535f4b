// A valid format-1 table file held in memory, with the places the mutations
// aim at: every word's role (descriptor, hash cell, content header...) and
// the chains that link pages (bindings, follow-up pages, the free list).
// Only images written by the library itself are parsed, so the parser trusts
// them; it checks just enough to fail loudly if the format ever changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace corruption {

constexpr int32_t content_magic = static_cast<int32_t>(0x12DE9F67u);
constexpr int32_t followup_magic = static_cast<int32_t>(0xDE9F6712u);
constexpr int32_t free_magic = static_cast<int32_t>(0xF3EEF3EEu);
constexpr int32_t descriptor_magic = static_cast<int32_t>(0x6712DE9Fu);
constexpr int32_t file_magic[4] = {static_cast<int32_t>(0xDE871209u), static_cast<int32_t>(0xDE881209u),
                                   static_cast<int32_t>(0xDE871309u), static_cast<int32_t>(0xDE87120Au)};

// Word indexes (into the whole file) grouped by what they are.
enum class place {
    master,
    descriptor,
    hash_header,
    cell_key,
    cell_ptr,
    cell_spare,
    content_header,
    followup_header,
    free_header,
    value_word,
    count_
};
constexpr int place_count = static_cast<int>(place::count_);
inline const char *place_name(place p)
{
    static const char *const names[] = {"master word", "descriptor word", "hash page header", "cell key",
                                        "cell pointer", "cell spare word", "content header", "follow-up header",
                                        "free page header", "value word"};
    return names[static_cast<int>(p)];
}

struct binding_pages {
    int32_t key;
    std::vector<int32_t> pages;  // first page, then its follow-up pages
};

struct table_image {
    std::string label;
    unsigned pagesize = 0;
    std::vector<int32_t> words;  // the whole file

    size_t words_per_page() const { return pagesize / 4; }
    int32_t total_pages() const { return words[words_per_page() + 1]; }
    size_t at(int32_t page, size_t word) const { return static_cast<size_t>(page) * words_per_page() + word; }

    std::vector<size_t> places[place_count];
    std::vector<int32_t> keys;                     // bound keys
    std::vector<int32_t> hash_pages;
    std::vector<size_t> cells;                     // first word of every cell
    std::vector<size_t> bound_cells;               // first word of cells with a binding
    std::vector<std::vector<int32_t>> chains;      // per bound key: first pages, newest first
    std::vector<binding_pages> bindings;           // every binding
    std::vector<int32_t> free_list;                // in list order
};

inline table_image parse_image(std::string label, unsigned pagesize, std::vector<int32_t> words)
{
    table_image img;
    img.label = std::move(label);
    img.pagesize = pagesize;
    img.words = std::move(words);
    const size_t w = img.words_per_page();
    auto word = [&](int32_t page, size_t i) { return img.words.at(img.at(page, i)); };
    if (word(0, 4) != 1 || word(1, 0) != descriptor_magic)
        throw std::runtime_error(img.label + ": not a table written by the library");
    const int32_t total = img.total_pages();
    if (img.words.size() < static_cast<size_t>(total) * w)
        throw std::runtime_error(img.label + ": shorter than its pages");
    for (size_t i = 0; i < 5; ++i)
        img.places[static_cast<int>(place::master)].push_back(i);
    for (size_t i = 0; i < 40; ++i)
        img.places[static_cast<int>(place::descriptor)].push_back(img.at(1, i));

    const size_t cells_per_page = w / 4 - 1;
    for (int e = 0; e < 16 && word(1, 8 + 2 * static_cast<size_t>(e)) != 0; ++e) {
        const int32_t first = word(1, 8 + 2 * static_cast<size_t>(e));
        const int32_t count = word(1, 9 + 2 * static_cast<size_t>(e));
        for (int32_t p = first; p < first + count; ++p) {
            img.hash_pages.push_back(p);
            for (size_t i = 0; i < 4; ++i)
                img.places[static_cast<int>(place::hash_header)].push_back(img.at(p, i));
            for (size_t c = 0; c < cells_per_page; ++c) {
                const size_t cell = img.at(p, 4 + 4 * c);
                img.cells.push_back(cell);
                img.places[static_cast<int>(place::cell_key)].push_back(cell);
                img.places[static_cast<int>(place::cell_ptr)].push_back(cell + 1);
                img.places[static_cast<int>(place::cell_spare)].push_back(cell + 2);
                img.places[static_cast<int>(place::cell_spare)].push_back(cell + 3);
                const int32_t ptr = img.words[cell + 1];
                if (ptr == 0 || ptr == -1)
                    continue;
                img.bound_cells.push_back(cell);
                img.keys.push_back(img.words[cell]);
                std::vector<int32_t> chain;
                for (int32_t b = ptr; b != 0; b = word(b, 3)) {
                    if (word(b, 0) != content_magic || chain.size() > static_cast<size_t>(total))
                        throw std::runtime_error(img.label + ": bad binding chain");
                    chain.push_back(b);
                    binding_pages binding{img.words[cell], {b}};
                    for (size_t i = 0; i < 6; ++i)
                        img.places[static_cast<int>(place::content_header)].push_back(img.at(b, i));
                    for (size_t i = 6; i < w; ++i)
                        img.places[static_cast<int>(place::value_word)].push_back(img.at(b, i));
                    for (int32_t f = word(b, 2); f != 0; f = word(f, 2)) {
                        if (word(f, 0) != followup_magic || binding.pages.size() > static_cast<size_t>(total))
                            throw std::runtime_error(img.label + ": bad follow-up chain");
                        binding.pages.push_back(f);
                        for (size_t i = 0; i < 4; ++i)
                            img.places[static_cast<int>(place::followup_header)].push_back(img.at(f, i));
                        for (size_t i = 4; i < w; ++i)
                            img.places[static_cast<int>(place::value_word)].push_back(img.at(f, i));
                    }
                    img.bindings.push_back(std::move(binding));
                }
                img.chains.push_back(std::move(chain));
            }
        }
    }
    for (int32_t p = word(1, 5); p != 0; p = word(p, 1)) {
        if (word(p, 0) != free_magic || img.free_list.size() > static_cast<size_t>(total))
            throw std::runtime_error(img.label + ": bad free list");
        img.free_list.push_back(p);
        img.places[static_cast<int>(place::free_header)].push_back(img.at(p, 0));
        img.places[static_cast<int>(place::free_header)].push_back(img.at(p, 1));
    }
    return img;
}

} // namespace corruption
