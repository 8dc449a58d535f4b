// The memory-latency floor of a find on a format-1 table on this machine.
// Any implementation of the format reads, for a find, the key's hash cell
// (probing on past cells of other keys) and then, at the page the cell names,
// the binding's content page: loads at places a good hash spreads at random
// over the table, the second dependent on the first.  This program loads W1's
// keys into a netshm table (no locking), maps the file itself, and times
// nothing but those loads for W1's find_hit order: the probe computed as the
// format defines it, no validation, no locking, no API call.
//
// The figures:
//   floor_serial      each lookup starts from the word the previous one read,
//                     so that no two overlap: what a find gets whose code is
//                     too long for the processor to start the next find
//                     while the last one's misses are in flight;
//   floor_serial_first  the same, its first pass only: right after the load,
//                     as W1's find_hit phase runs (the others: the best pass);
//   floor_overlapped  independent lookups, a few instructions each: the
//                     processor overlaps the misses of several;
//   floor_overlapped_100  the same with 100 more instructions per lookup,
//                     which shows how little code it takes to lose that;
//   floor_pipelined   groups of 64 lookups in three stages with software
//                     prefetches, as find_many takes them: its best case.
//
// Usage: memory_floor [--n N] [--rounds R]; prints JSON lines (system
// "floor", variant "format1", ops_per_s = lookups per second, the best of R
// passes over the N keys but for floor_serial_first).
#include "netshm_handle.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

namespace {

using bench::check_netshm;
using bench::failure;

// A loaded W1 table's file, mapped read-only, and lookups on it as the format
// (doc/format.md) places keys: nothing checked but the keys and values found.
class table_image {
public:
    table_image(const std::string &name, std::uint64_t pagesize)
    {
        int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (fd < 0 || ::fstat(fd, &st) != 0)
            throw failure("open " + name + ": " + std::strerror(errno));
        bytes_ = static_cast<std::size_t>(st.st_size);
        void *p = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd, 0);
        int saved = errno;
        ::close(fd);
        if (p == MAP_FAILED)
            throw failure("mapping " + name + ": " + std::strerror(saved));
        words_ = static_cast<const std::int32_t *>(p);
        words_per_page_ = static_cast<std::int64_t>(pagesize / 4);
        cells_per_page_ = words_per_page_ / 4 - 1;
        const std::int32_t *descriptor = page(words_[4]);
        hash_size_ = descriptor[2];
        std::int64_t cells = 0;
        for (int i = 0; i < 16 && descriptor[8 + 2 * i] != 0; ++i) {
            extents_[i] = {cells, descriptor[8 + 2 * i]};
            cells += static_cast<std::int64_t>(descriptor[9 + 2 * i]) * cells_per_page_;
            extent_count_ = i + 1;
        }
        if (hash_size_ <= 0 || cells != hash_size_)
            throw failure(name + ": not a loaded format-1 table");
    }
    ~table_image() { ::munmap(const_cast<std::int32_t *>(words_), bytes_); }
    table_image(const table_image &) = delete;
    table_image &operator=(const table_image &) = delete;

    // The first value word of key's binding.
    std::int32_t first_word(std::int32_t key) const { return content_page(key, first_cell(key))[6]; }

    // The cell a probe for key visits first.
    const std::int32_t *first_cell(std::int32_t key) const { return cell_of(probe_index(key, 0)); }

    // The first content page of key's binding, given the first cell.
    const std::int32_t *content_page(std::int32_t key, const std::int32_t *cell) const
    {
        for (std::int64_t attempt = 0; attempt <= hash_size_ + 10; ++attempt) {
            if (attempt > 0)
                cell = cell_of(probe_index(key, attempt));
            std::int32_t ptr = cell[1];
            if (ptr == 0)
                break;
            if (cell[0] == key && ptr > 0)
                return page(ptr);
        }
        throw failure("key " + std::to_string(key) + " is not in the table");
    }

private:
    struct extent {
        std::int64_t first_cell;
        std::int32_t first_page;
    };

    const std::int32_t *page(std::int64_t number) const { return words_ + number * words_per_page_; }

    std::int64_t probe_index(std::int32_t key, std::int64_t attempt) const
    {
        auto offset = static_cast<std::uint32_t>(attempt <= 9 ? attempt * attempt : 72 + attempt);
        auto sum = static_cast<std::int32_t>(static_cast<std::uint32_t>(key) + offset);
        std::int64_t remainder = static_cast<std::int64_t>(sum) % hash_size_;
        return remainder < 0 ? remainder + hash_size_ : remainder;
    }

    const std::int32_t *cell_of(std::int64_t index) const
    {
        int e = extent_count_ - 1;
        while (index < extents_[e].first_cell)
            --e;
        std::int64_t cell = index - extents_[e].first_cell;
        return page(extents_[e].first_page + cell / cells_per_page_) + 4 + 4 * (cell % cells_per_page_);
    }

    const std::int32_t *words_ = nullptr;
    std::size_t bytes_ = 0;
    std::int64_t words_per_page_ = 0;
    std::int64_t cells_per_page_ = 0;
    std::int64_t hash_size_ = 0;
    extent extents_[16]{};
    int extent_count_ = 0;
};

enum class mode { serial, overlapped, overlapped_100 };

// Lookups per second for one pass over `order`; every value checked.  The
// mode is a template argument: a run-time test could become a conditional
// move, a data dependency between the lookups of every mode.
template <mode m>
double pass(const table_image &image, const std::vector<std::int32_t> &order)
{
    std::uint32_t carried = 0;
    std::uint64_t sum = 0, expected = 0;
    double start = bench::now_seconds();
    std::int32_t previous = 0;
    for (std::int32_t key : order) {
        // The previous lookup's word equals the previous key (value_of's
        // first word): XOR-ing their difference in is a data dependency that
        // changes nothing.
        if constexpr (m == mode::serial)
            key ^= static_cast<std::int32_t>(carried ^ static_cast<std::uint32_t>(previous));
        std::uint32_t word = static_cast<std::uint32_t>(image.first_word(key));
        if constexpr (m == mode::overlapped_100) {
            // 100 additions the compiler cannot fold (the barrier hides
            // each sum from the next), undone by the subtraction.
#pragma GCC unroll 100
            for (int i = 0; i < 100; ++i) {
                word += 1;
                asm volatile("" : "+r"(word));
            }
            word -= 100;
        }
        carried = word;
        previous = key;
        sum += word;
        expected += static_cast<std::uint32_t>(key);
    }
    double seconds = bench::now_seconds() - start;
    if (sum != expected)
        throw failure("a lookup found a wrong value");
    return static_cast<double>(order.size()) / seconds;
}

// Lookups per second for one pass over `order` in groups of 64, pipelined as
// find_many pipelines them: every first cell of a group prefetched, then the
// cells read and their content pages prefetched, then the values read; the
// best case of that design, with nothing validated.
double pipelined_pass(const table_image &image, const std::vector<std::int32_t> &order)
{
    constexpr std::size_t group = 64;
    std::array<const std::int32_t *, group> cells{};
    std::array<const std::int32_t *, group> pages{};
    std::uint64_t sum = 0, expected = 0;
    double start = bench::now_seconds();
    for (std::size_t first = 0; first < order.size(); first += group) {
        const std::int32_t *keys = order.data() + first;
        const std::size_t n = std::min(group, order.size() - first);
        for (std::size_t i = 0; i < n; ++i) {
            cells[i] = image.first_cell(keys[i]);
            __builtin_prefetch(cells[i]);
        }
        for (std::size_t i = 0; i < n; ++i) {
            pages[i] = image.content_page(keys[i], cells[i]);
            __builtin_prefetch(pages[i]);
        }
        for (std::size_t i = 0; i < n; ++i) {
            sum += static_cast<std::uint32_t>(pages[i][6]);
            expected += static_cast<std::uint32_t>(keys[i]);
        }
    }
    double seconds = bench::now_seconds() - start;
    if (sum != expected)
        throw failure("a pipelined lookup found a wrong value");
    return static_cast<double>(order.size()) / seconds;
}

void report(const char *phase, std::size_t lookups, double rate)
{
    bench::json_line()
        .text("system", "floor")
        .text("variant", "format1")
        .text("phase", phase)
        .number("ops", static_cast<double>(lookups))
        .number("ops_per_s", rate)
        .print();
}

} // namespace

int main(int argc, char **argv)
{
    std::size_t n = 100000;
    int rounds = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--n") == 0)
            n = std::strtoull(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--rounds") == 0)
            rounds = std::atoi(argv[i + 1]);
    }
    if (argc % 2 != 1 || n < 2 || rounds < 1) {
        std::fprintf(stderr, "usage: %s [--n N] [--rounds R]\n", argv[0]);
        return 2;
    }
    std::string name = "/dev/shm/bench-floor-" + std::to_string(::getpid());
    try {
        bench::workload work = bench::make_workload(n);
        netshm_stats stats;
        stats.struct_size = sizeof stats;
        {
            bench::netshm_handle handle(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL, NETSHM_NO_LOCKING);
            for (std::int32_t key : work.keys) {
                bench::value v = bench::value_of(key, 0);
                check_netshm(netshm_add(handle.table(), key, v.data(), v.size()), "netshm_add");
            }
            check_netshm(netshm_stat(handle.table(), &stats), "netshm_stat");
        }
        table_image image(name, stats.pagesize);
        auto best_of = [&](auto one_pass) {
            double best = 0;
            for (int r = 0; r < rounds; ++r)
                best = std::max(best, one_pass(image, work.order));
            return best;
        };
        // The first pass right after the load, in a mapping no pass touched
        // yet: what W1's find_hit phase (one pass after its load) can reach.
        report("floor_serial_first", n, pass<mode::serial>(image, work.order));
        report("floor_serial", n, best_of(pass<mode::serial>));
        report("floor_overlapped", n, best_of(pass<mode::overlapped>));
        report("floor_overlapped_100", n, best_of(pass<mode::overlapped_100>));
        report("floor_pipelined", n, best_of(pipelined_pass));
    } catch (const std::exception &e) {
        ::unlink(name.c_str());
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    ::unlink(name.c_str());
    return 0;
}
