// The memory-latency floor of a find on a format-1 table on this machine.
// Any implementation of the format reads, for a find, the key's hash cell and
// then, at the page the cell names, the binding's content page: two loads,
// the second dependent on the first, at places a good hash spreads at random.
// This program loads W1's keys into a netshm table (no locking) to learn the
// geometry a real table has after the load phase (hash cells, content pages,
// page size, from netshm_stat), then times nothing but those two loads in a
// /dev/shm mapping of that geometry: random cells naming random content
// pages.  A second figure times the content-page load alone, the floor even
// if the hash cell cost nothing.  Each lookup's address depends on the word
// the previous one loaded, because a real find runs about a thousand
// instructions, which keeps the misses of two finds from overlapping.
//
// Usage: memory_floor [--n N] [--lookups L]; prints JSON lines
// (system "floor", variant "format1", phases floor_two_loads and
// floor_one_load, ops_per_s = lookups per second).
#include "netshm_handle.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

using bench::check_netshm;
using bench::failure;

struct geometry {
    std::uint64_t pagesize = 0;
    std::uint64_t hash_cells = 0;
    std::uint64_t content_pages = 0;
};

// The geometry of a netshm table after W1's load phase.
geometry loaded_table_geometry(std::size_t n)
{
    std::string name = "/dev/shm/bench-floor-" + std::to_string(::getpid());
    geometry g;
    {
        bench::netshm_handle handle(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL, NETSHM_NO_LOCKING);
        bench::workload work = bench::make_workload(n);
        for (std::int32_t key : work.keys) {
            bench::value v = bench::value_of(key, 0);
            check_netshm(netshm_add(handle.table(), key, v.data(), v.size()), "netshm_add");
        }
        netshm_stats stats;
        stats.struct_size = sizeof stats;
        check_netshm(netshm_stat(handle.table(), &stats), "netshm_stat");
        g = {stats.pagesize, stats.hash_cells, stats.content_pages};
    }
    ::unlink(name.c_str());
    if (g.hash_cells == 0 || g.content_pages == 0)
        throw failure("netshm_stat: a loaded table without hash cells or content pages");
    return g;
}

// A shared mapping of a /dev/shm file: hash cells (key, page) first, content
// pages after them, as in a table (the order of the regions does not matter).
class floor_image {
public:
    explicit floor_image(const geometry &g) : g_(g)
    {
        std::string name = "/dev/shm/bench-floor-image-" + std::to_string(::getpid());
        int fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            throw failure("open " + name + ": " + std::strerror(errno));
        ::unlink(name.c_str());
        bytes_ = g.hash_cells * 8 + g.content_pages * g.pagesize;
        void *p = MAP_FAILED;
        if (::ftruncate(fd, static_cast<off_t>(bytes_)) == 0)
            p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        int saved = errno;
        ::close(fd);
        if (p == MAP_FAILED)
            throw failure("mapping the floor image: " + std::string(std::strerror(saved)));
        base_ = static_cast<char *>(p);
        cells_ = reinterpret_cast<std::int32_t *>(base_);
        content_ = base_ + g.hash_cells * 8;
        // Every cell names a random content page; every page holds its key.
        bench::xorshift32 rng(bench::w1_seed);
        for (std::uint64_t c = 0; c < g.hash_cells; ++c) {
            std::uint64_t page = rng.next() % g.content_pages;
            cells_[2 * c] = static_cast<std::int32_t>(c);
            cells_[2 * c + 1] = static_cast<std::int32_t>(page);
            std::memcpy(content_ + page * g.pagesize + 4, &cells_[2 * c], 4);
        }
    }
    ~floor_image() { ::munmap(base_, bytes_); }
    floor_image(const floor_image &) = delete;
    floor_image &operator=(const floor_image &) = delete;

    // Lookups per second: a cell, then the page it names (two_loads), or a
    // random page alone.
    double rate(std::uint64_t lookups, bool two_loads) const
    {
        bench::xorshift32 rng(bench::shuffle_seed);
        std::uint32_t carried = 0;
        double start = bench::now_seconds();
        for (std::uint64_t i = 0; i < lookups; ++i) {
            std::uint32_t r = rng.next() + (carried & 1);
            std::uint64_t page = r % g_.content_pages;
            if (two_loads)
                page = static_cast<std::uint32_t>(
                    __atomic_load_n(&cells_[2 * (r % g_.hash_cells) + 1], __ATOMIC_RELAXED));
            std::int32_t word;
            std::memcpy(&word, content_ + page * g_.pagesize + 4, 4);
            carried = static_cast<std::uint32_t>(word);
            sink_ += carried;
        }
        return static_cast<double>(lookups) / (bench::now_seconds() - start);
    }

private:
    geometry g_;
    std::size_t bytes_ = 0;
    char *base_ = nullptr;
    std::int32_t *cells_ = nullptr;
    char *content_ = nullptr;
    mutable std::uint64_t sink_ = 0;
};

void report(const char *phase, std::uint64_t lookups, double rate, const geometry &g)
{
    bench::json_line()
        .text("system", "floor")
        .text("variant", "format1")
        .text("phase", phase)
        .number("ops", static_cast<double>(lookups))
        .number("ops_per_s", rate)
        .number("hash_cells", static_cast<double>(g.hash_cells))
        .number("content_pages", static_cast<double>(g.content_pages))
        .number("pagesize", static_cast<double>(g.pagesize))
        .print();
}

} // namespace

int main(int argc, char **argv)
{
    std::size_t n = 100000;
    std::uint64_t lookups = 2000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--n") == 0)
            n = std::strtoull(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--lookups") == 0)
            lookups = std::strtoull(argv[i + 1], nullptr, 10);
    }
    if (argc % 2 != 1 || n < 2 || lookups < 1) {
        std::fprintf(stderr, "usage: %s [--n N] [--lookups L]\n", argv[0]);
        return 2;
    }
    try {
        geometry g = loaded_table_geometry(n);
        floor_image image(g);
        image.rate(lookups / 10, true);  // warm the caches and the page tables
        report("floor_two_loads", lookups, image.rate(lookups, true), g);
        report("floor_one_load", lookups, image.rate(lookups, false), g);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 1;
    }
    return 0;
}
