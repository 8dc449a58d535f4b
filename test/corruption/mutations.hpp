// Mutated table files: each is a valid base table damaged one or a few ways
// (flipped bits, garbage words at random or at chosen places, cycles in
// chains, copied pages, truncation, wrong sizes) or a file that never was a
// table (zeros, random bytes), with a description of what was done.  The same
// seed always gives the same file.
#pragma once

#include "table_image.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace corruption {

struct mutated_file {
    std::string bytes;
    std::string description;
    const table_image *base = nullptr;
};

class mutator {
public:
    explicit mutator(const std::vector<table_image> &bases) : bases_(bases) {}

    mutated_file make(uint64_t seed) const
    {
        state s{std::mt19937_64(seed), {}, {}, nullptr};
        s.base = &bases_[s.below(bases_.size())];
        s.words = s.base->words;
        s.text = s.base->label + ":";
        mutated_file out;
        out.base = s.base;
        const uint64_t roll = s.below(100);
        bool word_level = true;
        if (roll < 12)
            flip_bits(s);
        else if (roll < 22)
            garbage_words(s);
        else if (roll < 44)
            targeted(s, 1 + s.below(3));
        else if (roll < 50)
            descriptor_counters(s);
        else if (roll < 56)
            binding_chain(s);
        else if (roll < 62)
            followup_chain(s);
        else if (roll < 68)
            free_list(s);
        else if (roll < 74)
            hash_cells(s);
        else if (roll < 78)
            copy_page(s);
        else if (roll < 84)
            combined(s);
        else
            word_level = false;
        out.bytes = to_bytes(s.words);
        if (!word_level) {
            if (roll < 90)
                truncate(s, out.bytes);
            else if (roll < 93)
                zero_file(s, out.bytes);
            else if (roll < 97)
                random_file(s, out.bytes);
            else
                wrong_size(s, out.bytes);
        }
        out.description = std::move(s.text);
        return out;
    }

private:
    struct state {
        std::mt19937_64 rng;
        std::vector<int32_t> words;
        std::string text;
        const table_image *base;

        uint64_t below(uint64_t n) { return n == 0 ? 0 : rng() % n; }
        bool chance(unsigned percent) { return below(100) < percent; }
        template <class T>
        T pick(const std::vector<T> &from) { return from[below(from.size())]; }
        int32_t total() const { return base->total_pages(); }
        int32_t any_page() { return static_cast<int32_t>(below(static_cast<uint64_t>(total()))); }
        size_t wpp() const { return base->words_per_page(); }

        void set(size_t index, int32_t value, const char *what)
        {
            if (index >= words.size())
                return;
            text += " " + std::string(what) + " @page " + std::to_string(index / wpp()) + " word " +
                    std::to_string(index % wpp()) + ": " + std::to_string(words[index]) + " -> " +
                    std::to_string(value) + ";";
            words[index] = value;
        }

        // A value that tends to be dangerous where a page number, count,
        // length, key or magic is expected.
        int32_t special(int32_t original)
        {
            const table_image &b = *base;
            switch (below(26)) {
            case 0: return 0;
            case 1: return -1;
            case 2: return 1;
            case 3: return 2;
            case 4: return INT32_MIN;
            case 5: return INT32_MAX;
            case 6: return INT32_MAX - 1;
            case 7: return total();
            case 8: return total() - 1;
            case 9: return total() + 1;
            case 10: return 2 * total();
            case 11: return any_page();
            case 12: return b.hash_pages.empty() ? 2 : pick(b.hash_pages);
            case 13: return b.bindings.empty() ? 3 : pick(b.bindings).pages.front();
            case 14: {
                const binding_pages &binding = b.bindings.empty() ? binding_pages{0, {3}} : pick(b.bindings);
                return binding.pages.back();
            }
            case 15: return b.free_list.empty() ? total() - 1 : pick(b.free_list);
            // Wrapping around int32 (UBSan refuses a signed overflow).
            case 16: return static_cast<int32_t>(static_cast<uint32_t>(original) + 1u);
            case 17: return static_cast<int32_t>(static_cast<uint32_t>(original) - 1u);
            case 18: return original ^ static_cast<int32_t>(1u << below(32));
            case 19: return content_magic;
            case 20: return followup_magic;
            case 21: return free_magic;
            case 22: return descriptor_magic;
            case 23: return b.keys.empty() ? 7 : pick(b.keys);
            case 24: return static_cast<int32_t>(below(static_cast<uint64_t>(total()) * wpp() * 4 + 8));
            default: return static_cast<int32_t>(static_cast<uint32_t>(rng()));
            }
        }
    };

    static std::string to_bytes(const std::vector<int32_t> &words)
    {
        std::string bytes(words.size() * 4, '\0');
        std::memcpy(bytes.data(), words.data(), bytes.size());
        return bytes;
    }

    static void flip_bits(state &s)
    {
        const uint64_t flips = 1 + s.below(8);
        // Half the time, aim at the pages that hold structure.
        const size_t structure_end = s.base->at(s.base->hash_pages.empty() ? 2 : s.base->hash_pages.back() + 1, 0);
        for (uint64_t i = 0; i < flips; ++i) {
            const size_t index = s.chance(50) ? s.below(structure_end) : s.below(s.words.size());
            const int bit = static_cast<int>(s.below(32));
            s.set(index, static_cast<int32_t>(static_cast<uint32_t>(s.words[index]) ^ (1u << bit)), "flipped bit");
        }
    }

    static void garbage_words(state &s)
    {
        const uint64_t count = 1 + s.below(4);
        for (uint64_t i = 0; i < count; ++i) {
            const size_t index = s.below(s.words.size());
            s.set(index, s.special(s.words[index]), "garbage");
        }
    }

    static void targeted(state &s, uint64_t count)
    {
        for (uint64_t i = 0; i < count; ++i) {
            std::vector<int> kinds;
            for (int k = 0; k < place_count; ++k)
                if (!s.base->places[k].empty())
                    kinds.push_back(k);
            const int kind = s.pick(kinds);
            const size_t index = s.pick(s.base->places[kind]);
            s.set(index, s.special(s.words[index]), place_name(static_cast<place>(kind)));
        }
    }

    // The counters and extents of the descriptor page.
    static void descriptor_counters(state &s)
    {
        const size_t word = 1 + s.below(s.chance(60) ? 7 : 39);
        s.set(s.base->at(1, word), s.special(s.words[s.base->at(1, word)]), "descriptor");
        if (s.chance(30)) {
            const size_t other = 1 + s.below(39);
            s.set(s.base->at(1, other), s.special(s.words[s.base->at(1, other)]), "descriptor");
        }
    }

    // Older-binding links that loop, cross keys or point at the wrong pages.
    static void binding_chain(state &s)
    {
        const table_image &b = *s.base;
        if (b.chains.empty())
            return targeted(s, 1);
        const std::vector<int32_t> &chain = s.pick(b.chains);
        const int32_t page = s.pick(chain);
        int32_t target;
        switch (s.below(6)) {
        case 0: target = page; break;                       // a loop on itself
        case 1: target = chain.front(); break;              // back to the newest: a cycle
        case 2: target = s.pick(b.chains).front(); break;   // into another key's chain
        case 3: target = s.pick(b.bindings).pages.back(); break;
        case 4: target = b.free_list.empty() ? page : s.pick(b.free_list); break;
        default: target = s.special(0);
        }
        s.set(b.at(page, 3), target, "older binding");
    }

    // Follow-up chains that loop, cross-link or disagree with the length.
    static void followup_chain(state &s)
    {
        const table_image &b = *s.base;
        std::vector<const binding_pages *> multi;
        for (const binding_pages &binding : b.bindings)
            if (binding.pages.size() > 1)
                multi.push_back(&binding);
        if (multi.empty())
            return targeted(s, 1);
        const binding_pages &binding = *s.pick(multi);
        const size_t from = s.below(binding.pages.size());
        const int32_t page = binding.pages[from];
        switch (s.below(7)) {
        case 0:
            s.set(b.at(page, 2), page, "next page (self)");
            break;
        case 1:
            s.set(b.at(page, 2), binding.pages[s.below(from + 1)], "next page (cycle)");
            break;
        case 2:
            s.set(b.at(binding.pages.back(), 2), binding.pages.front(), "next page (back to the first)");
            break;
        case 3: {
            const binding_pages &other = *s.pick(multi);
            s.set(b.at(page, 2), other.pages[s.below(other.pages.size())], "next page (cross-linked)");
            break;
        }
        case 4:
            if (from > 0)
                s.set(b.at(page, 3), s.special(static_cast<int32_t>(from)), "sequence number");
            else
                s.set(b.at(page, 5), s.special(s.words[b.at(page, 5)]), "value length");
            break;
        case 5:
            s.set(b.at(binding.pages.front(), 5),
                  s.words[b.at(binding.pages.front(), 5)] + static_cast<int32_t>(s.below(200)) - 100, "value length");
            break;
        default:
            s.set(b.at(page, 2), s.special(0), "next page");
        }
    }

    static void free_list(state &s)
    {
        const table_image &b = *s.base;
        if (b.free_list.empty())
            return descriptor_counters(s);
        const std::vector<int32_t> &list = b.free_list;
        const int32_t page = s.pick(list);
        switch (s.below(7)) {
        case 0:
            s.set(b.at(list.back(), 1), list.front(), "free link (cycle)");
            break;
        case 1:
            s.set(b.at(page, 1), page, "free link (self)");
            break;
        case 2:
            s.set(b.at(page, 1), b.bindings.empty() ? 1 : s.pick(b.bindings).pages.front(), "free link (in use)");
            break;
        case 3:
            s.set(b.at(1, 6), s.words[b.at(1, 6)] + 1 + static_cast<int32_t>(s.below(5)), "free count");
            break;
        case 4:
            s.set(b.at(1, 5), b.bindings.empty() ? 2 : s.pick(b.bindings).pages.back(), "free head (in use)");
            break;
        case 5:
            if (list.size() >= 2)
                s.set(b.at(list[1], 1), list[0], "free link (two-page cycle)");
            else
                s.set(b.at(page, 0), s.special(free_magic), "free magic");
            break;
        default:
            s.set(b.at(page, 1), s.special(0), "free link");
        }
    }

    static void hash_cells(state &s)
    {
        const table_image &b = *s.base;
        std::vector<size_t> free_cells;
        for (size_t cell : b.cells)
            if (s.words[cell + 1] == 0)
                free_cells.push_back(cell);
        const bool bound = !b.bound_cells.empty();
        const size_t cell = bound ? s.pick(b.bound_cells) : s.pick(b.cells);
        switch (s.below(7)) {
        case 0:
            s.set(cell + 1, b.bindings.empty() ? 1 : s.pick(b.bindings).pages.back(), "cell pointer (follow-up)");
            break;
        case 1:
            s.set(cell + 1, b.free_list.empty() ? s.total() : s.pick(b.free_list), "cell pointer (free page)");
            break;
        case 2:
            s.set(cell + 1, s.chance(50) ? 1 : s.pick(b.hash_pages), "cell pointer (structure page)");
            break;
        case 3:
            if (bound && !free_cells.empty()) {
                // The same key twice in the hash table.
                const size_t copy = s.pick(free_cells);
                s.set(copy, s.words[cell], "cell key (duplicate)");
                s.set(copy + 1, s.words[cell + 1], "cell pointer (duplicate)");
            }
            break;
        case 4: {
            // No free cell left: probing can only end by its bound.
            s.text += " every free cell claimed;";
            int32_t key = INT32_MIN + 12345;
            for (size_t c : free_cells) {
                s.words[c] = key++;
                s.words[c + 1] = -1;
            }
            break;
        }
        case 5:
            s.set(cell, s.special(s.words[cell]), "cell key");
            break;
        default:
            s.set(cell + 2 + s.below(2), s.special(0), "cell spare word");
        }
    }

    static void copy_page(state &s)
    {
        const int32_t from = s.any_page();
        const int32_t to = s.chance(50) ? s.any_page() : (s.base->hash_pages.empty() ? 1 : s.pick(s.base->hash_pages));
        s.text += " page " + std::to_string(from) + " copied over page " + std::to_string(to) + ";";
        std::copy_n(s.words.begin() + static_cast<std::ptrdiff_t>(s.base->at(from, 0)), s.wpp(),
                    s.words.begin() + static_cast<std::ptrdiff_t>(s.base->at(to, 0)));
    }

    static void combined(state &s)
    {
        const uint64_t count = 2 + s.below(2);
        for (uint64_t i = 0; i < count; ++i) {
            switch (s.below(6)) {
            case 0: flip_bits(s); break;
            case 1: targeted(s, 1); break;
            case 2: binding_chain(s); break;
            case 3: followup_chain(s); break;
            case 4: free_list(s); break;
            default: hash_cells(s);
            }
        }
    }

    static void truncate(state &s, std::string &bytes)
    {
        size_t size;
        const size_t p = s.base->pagesize;
        switch (s.below(4)) {
        case 0: size = s.below(200); break;
        case 1: size = p * s.below(bytes.size() / p); break;
        case 2: size = bytes.size() - 1 - s.below(std::min<size_t>(bytes.size(), 2 * p)); break;
        default: size = s.below(bytes.size());
        }
        s.text += " truncated from " + std::to_string(bytes.size()) + " to " + std::to_string(size) + " bytes;";
        bytes.resize(size);
    }

    static void zero_file(state &s, std::string &bytes)
    {
        const size_t size = s.chance(50) ? bytes.size() : 1 + s.below(2 * bytes.size());
        s.text += " " + std::to_string(size) + " zero bytes;";
        bytes.assign(size, '\0');
    }

    static void random_file(state &s, std::string &bytes)
    {
        const size_t size = 1 + s.below(2 * bytes.size());
        const uint64_t variant = s.below(4);
        std::string fresh(size, '\0');
        for (char &c : fresh)
            c = static_cast<char>(s.rng());
        size_t keep = 0;
        if (variant == 1)
            keep = 20;  // the master page's magic and descriptor number
        else if (variant == 2)
            keep = 2 * s.base->pagesize;  // master and descriptor pages
        else if (variant == 3)
            keep = s.base->at(s.base->hash_pages.empty() ? 2 : s.base->hash_pages.back() + 1, 0) * 4;
        keep = std::min({keep, size, bytes.size()});
        std::copy_n(bytes.begin(), keep, fresh.begin());
        s.text += " " + std::to_string(size) + " random bytes after the base's first " + std::to_string(keep) + ";";
        bytes = std::move(fresh);
    }

    static void wrong_size(state &s, std::string &bytes)
    {
        const size_t p = s.base->pagesize;
        switch (s.below(4)) {
        case 0: {
            const size_t extra = 1 + s.below(3 * p);
            s.text += " " + std::to_string(extra) + " zero bytes appended;";
            bytes.append(extra, '\0');
            break;
        }
        case 1: {
            const size_t extra = 1 + s.below(3 * p);
            s.text += " " + std::to_string(extra) + " random bytes appended;";
            for (size_t i = 0; i < extra; ++i)
                bytes.push_back(static_cast<char>(s.rng()));
            break;
        }
        case 2: {
            // Garbage pages appended and counted as the table's.
            const size_t extra_pages = 1 + s.below(4);
            for (size_t i = 0; i < extra_pages * p; ++i)
                bytes.push_back(static_cast<char>(s.chance(50) ? 0 : s.rng()));
            const int32_t total = s.total() + static_cast<int32_t>(extra_pages);
            std::memcpy(bytes.data() + s.base->at(1, 1) * 4, &total, 4);
            s.text += " " + std::to_string(extra_pages) + " garbage pages appended and counted;";
            break;
        }
        default: {
            const size_t cut = 1 + s.below(p - 1);
            s.text += " " + std::to_string(cut) + " bytes cut off the end;";
            bytes.resize(bytes.size() - cut);
        }
        }
    }

    const std::vector<table_image> &bases_;
};

} // namespace corruption
