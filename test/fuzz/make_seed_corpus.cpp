// Writes the seed corpora of the fuzz targets into DIR/fuzz_table_file and
// DIR/fuzz_operations (existing files of the same names are replaced):
// tables of several page sizes written by the library, each behind the
// control bytes of fuzz_table_file, and operation sequences for
// fuzz_operations.  test/fuzz/corpus is its output:
//   ninja -C build test/fuzz/make_seed_corpus && build/test/fuzz/make_seed_corpus test/fuzz/corpus
#include "operations_format.hpp"
#include "testing.h"

#include <netshm.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ops = netshm_fuzz::ops;

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "make_seed_corpus: %s\n", what.c_str());
    std::exit(1);
}

void ok(int rc, const char *what)
{
    if (rc != NETSHM_OK)
        die(std::string(what) + ": " + netshm_strerror(rc) + ": " + netshm_last_error());
}

void write_file(const fs::path &path, const std::vector<uint8_t> &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        die("cannot write " + path.string());
}

std::vector<int32_t> counting(size_t len, int32_t start)
{
    std::vector<int32_t> v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = static_cast<int32_t>(static_cast<uint32_t>(start) + static_cast<uint32_t>(i));
    return v;
}

// A table the library writes in a scratch file: `fill` runs on it.  With
// OCamlnet's growth the file holds only the pages it needs (small seeds).
template <class Fill>
std::vector<uint8_t> table_bytes(const fs::path &scratch, unsigned pagesize, long long init, bool mimic, Fill fill)
{
    netshm_descr *descr = nullptr;
    ok(netshm_open(NETSHM_TYPE_FILE, scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600, &descr), "open");
    netshm_table *table = nullptr;
    ok(netshm_manage(descr, NETSHM_RECORD_LOCKING, pagesize, init, &table), "manage");
    if (mimic)
        ok(netshm_testing_mimic_ocamlnet(table), "mimic");
    fill(table);
    if (netshm_check(table, nullptr, nullptr) != 0)
        die("a seed table is damaged");
    ok(netshm_table_close(table), "table_close");
    ok(netshm_close(descr), "close");
    std::ifstream in(scratch, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fs::remove(scratch);
    return bytes;
}

void add(netshm_table *t, int32_t key, const std::vector<int32_t> &v)
{
    ok(netshm_add(t, key, v.data(), v.size()), "add");
}

// Keys with one, several and multi-page bindings, a removed binding (free
// pages), an empty value, and with `burst` new keys, a grown hash table.
void typical(netshm_table *t, int burst)
{
    for (int32_t k = 1; k <= 6; ++k)
        add(t, k, counting(static_cast<size_t>(k), 100 * k));
    add(t, 3, counting(120, -5));
    add(t, 3, {});
    add(t, INT32_MIN, counting(2, INT32_MAX));
    ok(netshm_remove(t, 2), "remove");
    ok(netshm_replace(t, 4, nullptr, 0), "replace");
    for (int i = 0; i < burst; ++i)
        add(t, 1000 + 17 * i, counting(static_cast<size_t>(i % 3), i));
}

int32_t word_at(const std::vector<uint8_t> &file, size_t index)
{
    int32_t w;
    std::memcpy(&w, file.data() + 4 * index, 4);
    return w;
}

std::vector<uint8_t> with_word(std::vector<uint8_t> file, size_t index, int32_t w)
{
    std::memcpy(file.data() + 4 * index, &w, 4);
    return file;
}

// fuzz_table_file: control bytes (flags, page size byte, choice seed) + file.
void table_seed(const fs::path &dir, const std::string &name, uint8_t flags, uint8_t size_byte, uint16_t seed,
                const std::vector<uint8_t> &file)
{
    std::vector<uint8_t> bytes{flags, size_byte, static_cast<uint8_t>(seed), static_cast<uint8_t>(seed >> 8)};
    bytes.insert(bytes.end(), file.begin(), file.end());
    write_file(dir / (name + ".bin"), bytes);
}

void table_seeds(const fs::path &dir)
{
    fs::create_directories(dir);
    const fs::path scratch = dir / "scratch.tmp";
    // Flags: bit 0 record locking, bit 1 read-only, bits 2-3 page size mode,
    // bit 4 a second pass, bit 5 re-initialise (see fuzz_table_file.cpp).
    const auto ps160 = table_bytes(scratch, 160, 0, true, [](netshm_table *t) { typical(t, 40); });
    table_seed(dir, "ps160-grown", 0x00, 0, 1, ps160);
    table_seed(dir, "ps160-grown-read-only-explicit", 0x02 | 0x0C, 0, 2, ps160);
    table_seed(dir, "ps160-grown-twice-reinit", 0x01 | 0x10 | 0x20, 7, 3, ps160);
    const auto ps164 = table_bytes(scratch, 164, 3, true, [](netshm_table *t) { typical(t, 0); });
    table_seed(dir, "ps164", 0x01, 0, 4, ps164);
    // Hostile counters: a page count far beyond the object (must be
    // corruption, never growth), and every cell claimed (each new key then
    // grows the hash table).
    table_seed(dir, "ps164-hostile-page-count", 0x10, 0, 11, with_word(ps164, 164 / 4 + 1, INT32_MAX));
    table_seed(dir, "ps164-all-cells-claimed", 0x10, 0, 12,
               with_word(ps164, 164 / 4 + 3, word_at(ps164, 164 / 4 + 2)));
    table_seed(dir, "ps256", 0x11, 0, 5,
               table_bytes(scratch, 256, 20, true, [](netshm_table *t) { typical(t, 10); }));
    table_seed(dir, "ps512-explicit", 0x08, 4, 6,
               table_bytes(scratch, 512, 0, true, [](netshm_table *t) { typical(t, 5); }));
    table_seed(dir, "ps1024", 0x01, 0, 7,
               table_bytes(scratch, 1024, 0, true, [](netshm_table *t) { typical(t, 5); }));
    table_seed(dir, "ps160-growth-slack", 0x00, 0, 10,
               table_bytes(scratch, 160, 0, false, [](netshm_table *t) { typical(t, 30); }));
    table_seed(dir, "ps4096-empty-table", 0x30, 6, 8, table_bytes(scratch, 4096, 0, true, [](netshm_table *) {}));
    table_seed(dir, "empty-file", 0x00, 0, 9, {});
}

void operation_seeds(const fs::path &dir)
{
    using namespace ops;
    fs::create_directories(dir);
    const uint8_t s_short = value_selector(value_short, 3), s_long = value_selector(value_long, 2),
                  s_boundary = value_selector(value_boundary, 4), s_medium = value_selector(value_medium, 5);

    writer basics(false, 0, 0);
    for (uint8_t k = 0; k < 6; ++k)
        basics.op(op_add, {k, static_cast<uint8_t>(s_short + k * 8)});
    basics.op(op_add, {1, value_selector(value_empty, 0)})
        .op(op_replace, {2, s_medium})
        .op(op_remove, {3})
        .op(op_remove, {3})
        .op(op_find, {1})
        .op(op_find, {3});
    for (uint8_t cap = 0; cap < 4; ++cap)
        basics.op(op_find_into, {2, cap});
    basics.op(op_mem, {0}).op(op_find_all, {1}).op(op_length).op(op_iter).op(op_check).op(op_dump);
    basics.op(op_add, {4, value_selector(value_words, 3)}).word(INT32_MIN).word(-1).word(INT32_MAX);
    basics.op(op_add, {5, value_selector(value_extremes, 6)}).op(op_check);
    write_file(dir / "basics.bin", basics.bytes());

    writer pages(false, 0, 1);
    pages.op(op_add, {7, s_long}).op(op_add, {7, s_boundary}).op(op_add, {7, value_selector(value_boundary, 5)});
    pages.op(op_add, {8, value_selector(value_boundary, 0)}).op(op_replace, {7, s_long});
    pages.op(op_find_blocks, {7, plan(false, -1, 0, 0), plan(false, -1, 1, 1), plan(false, -1, 0, 0)});
    pages.op(op_write_blocks, {7, 1, plan(true, -1, 0, 0), plan(true, 1, 0, 0), plan(false, 0, 2, 3)});
    pages.op(op_write_blocks, {7, 0, plan(false, 0, 0, 0)});  // REMOVE_BINDING not announced: EINVAL
    pages.op(op_write_blocks, {8, 1, plan(true, 0, 3, 1)});   // a negative answer cancels the removal
    pages.op(op_find_into, {7, 0}).op(op_find_into, {7, 2}).op(op_check).op(op_dump);
    write_file(dir / "multi-page-blocks.bin", pages.bytes());

    writer growth(false, 1, 0);
    growth.op(op_burst, {199}).word(-3000).op(op_check);
    growth.op(op_add_fresh, {s_long}).word(123456789);
    growth.op(op_remanage, {0}).op(op_iter).op(op_burst, {255}).word(77).op(op_check);
    growth.op(op_remanage, {2 | 1 | (5 << 2)}).op(op_burst, {60}).word(INT32_MAX - 100).op(op_check);
    write_file(dir / "growth-remanage.bin", growth.bytes());

    writer groups(true, 2, 3);
    groups.op(op_group_toggle, {0}).op(op_add, {1, s_short}).op(op_group_toggle, {2});
    groups.op(op_replace, {1, s_medium}).op(op_group_toggle, {1}).op(op_group_toggle, {1});
    groups.op(op_group_call, {3 | 8, op_add, 2, s_short, op_find, 2, op_remove, 1, op_length});
    groups.op(op_group_call, {1 | 4, op_group_call, 0 | 8, op_add, 9, s_long, op_mem, 9});
    groups.op(op_self_locked, {2}).op(op_reopen_read_only).op(op_check);
    write_file(dir / "groups.bin", groups.bytes());

    writer colliding(true, 3, 1);
    for (uint8_t k = 6; k < 13; ++k)
        colliding.op(op_add, {k, s_short});
    colliding.op(op_remove, {7}).op(op_remove, {10}).op(op_add, {7, s_medium}).op(op_add, {14, s_short});
    colliding.op(op_add, {15, s_short}).op(op_iter).op(op_check);
    write_file(dir / "colliding-keys.bin", colliding.bytes());

    // Long sequences of arbitrary bytes (any input is valid): something
    // long for the fuzzer to cut and splice from the start.
    for (uint8_t setup = 0; setup < 4; ++setup) {
        std::mt19937 bytes(setup);
        writer mixed(setup & 1, setup, static_cast<uint8_t>(3 * setup));
        for (int i = 0; i < 1200; ++i)
            mixed.op(static_cast<opcode>(bytes() % 256));
        write_file(dir / ("mixed-" + std::to_string(setup) + ".bin"), mixed.bytes());
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: make_seed_corpus DIR");
    const fs::path dir = argv[1];
    table_seeds(dir / "fuzz_table_file");
    operation_seeds(dir / "fuzz_operations");
    return 0;
}
