// Optimistic readers of mutex locking (doc/locking.md, "Readers"): find, mem
// and length read without the writer mutex, against the sequence counter.
// Nothing is stored to shared memory and, unless the table grew (a remap in
// this process), no system call is made.  Every word is still read once and
// validated: a torn read may show anything, and must neither crash nor reach
// the caller.
#include "table/scopes.hpp"

#include <algorithm>

namespace netshm::core {

namespace {

// After this many attempts disturbed by writers, a reader takes the mutex:
// it waits instead of spinning, and a writer that died holding the mutex is
// reported to it.
constexpr int optimistic_attempts = 64;

void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

} // namespace

bool table::reads_optimistically() const noexcept
{
    const writer_mutex *writer = locks_.writer();
    return writer != nullptr && !writer->held();
}

bool table::read_optimistically(function_ref<void()> read)
{
    lock_area &area = locks_.writer()->area();
    // A wiped lock area or a table marked corrupt: the mutex path says so.
    if (!area.is_initialised() || area.is_corrupt())
        return false;
    for (int attempt = 0; attempt < optimistic_attempts; ++attempt) {
        std::uint32_t begun = area.read_begin();
        if (!lock_area::stable(begun)) {
            cpu_relax();
            continue;
        }
        try {
            read();
        } catch (const error &) {
            // What a writer changed under the reader is a torn read, not damage.
            if (area.read_validate(begun))
                throw;
            continue;
        }
        if (area.read_validate(begun))
            return true;
    }
    return false;
}

std::optional<bool> table::optimistic_lookup(std::int32_t key, bool copy)
{
    bool bound = false;
    if (!read_optimistically([&] {
            const header &h = refresh();
            std::int32_t page = bound_page(h, probe(h, key, false));
            bound = page != 0;
            if (!bound)
                return;
            binding b = read_binding(h, page, key);
            if (copy)
                copy_value_atomically(b);
        }))
        return std::nullopt;
    return bound;
}

std::optional<bool> table::optimistic_find(std::int32_t key, function_ref<std::int32_t *(std::size_t)> sink)
{
    std::optional<bool> found = optimistic_lookup(key, true);
    if (found.value_or(false))
        if (std::int32_t *out = sink(read_copy_.size()))
            std::copy(read_copy_.begin(), read_copy_.end(), out);
    return found;
}

std::optional<std::int64_t> table::optimistic_length()
{
    std::int64_t bindings = 0;
    if (!read_optimistically([&] { bindings = refresh().bindings; }))
        return std::nullopt;
    return bindings;
}

} // namespace netshm::core
