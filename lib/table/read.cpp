// The read path: find, mem, length and memory, and reading a binding's
// content pages.  With mutex locking, find, mem and length first read
// optimistically (doc/locking.md, "Readers"): without the writer mutex,
// against the sequence counter, storing nothing to shared memory and, unless
// the table grew (a remap in this process), making no system call.  Every word
// is still read once and validated: a torn read may show anything, and must
// neither crash nor reach the caller.
#include "table/scopes.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

namespace netshm::core {

using namespace layout;

namespace {

// After this many attempts disturbed by writers, a reader takes the mutex:
// it waits instead of spinning, and a writer that died holding the mutex is
// reported to it.
constexpr int optimistic_attempts = 64;

// A reader that cannot take the mutex pauses between its further attempts,
// and with no lock timeout gives up after this many (a few seconds).
constexpr int attempts_without_mutex = 50000;
constexpr std::chrono::microseconds pause_without_mutex{20};

// Reads hold the descriptor page's read lock while they copy: that excludes
// every writer (all of them write-lock it), a superset of what OCamlnet's
// binding page lock excludes, for 2 fcntl calls instead of 4.  Only values of
// many pages are copied under the binding's lock alone, so that a long copy
// does not keep writers of other keys waiting.
constexpr std::int64_t copy_under_descriptor_lock_pages = 64;

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

bool table::reads_without_mutex() const noexcept
{
    const writer_mutex *writer = locks_.writer();
    return writer != nullptr && !writer->area().writable();
}

bool table::read_optimistically(function_ref<void()> read)
{
    lock_area &area = locks_.writer()->area();
    const bool fall_back = area.writable();
    // A wiped lock area or a table marked corrupt: the mutex path says so.
    if (!area.is_initialised() || area.is_corrupt()) {
        if (fall_back)
            return false;
        corrupt("the lock area of mutex locking in page 0 was wiped, or the table marked corrupt after a writer "
                "died; a process with write access must open it");
    }
    const lock_wait limit = lock_timeout();
    const auto started = std::chrono::steady_clock::now();
    for (int attempt = 0;; ++attempt) {
        if (attempt >= optimistic_attempts) {
            if (fall_back)
                return false;
            if (limit.count() != 0 && std::chrono::steady_clock::now() - started >= limit)
                throw error(errc::timed_out, fmt::format("{}: writers kept changing the table for the lock "
                                                         "timeout while it was read",
                                                         object_->name()));
            if (limit.count() == 0 && attempt >= attempts_without_mutex)
                throw error(errc::busy, fmt::format("{}: writers changed the table during each of {} attempts to "
                                                    "read it",
                                                    object_->name(), attempt));
            std::this_thread::sleep_for(pause_without_mutex);
        }
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
}

std::optional<bool> table::optimistic_lookup(std::int32_t key, bool copy, first_cell first)
{
    bool bound = false;
    if (!read_optimistically([&] {
            const header &h = refresh();
            std::int32_t page = bound_page(h, probe(h, key, false, first));
            bound = page != 0;
            if (!bound)
                return;
            if (binding_head head = read_head(h, page, key); in_first_page(head)) {
                if (copy) {
                    read_copy_.resize(static_cast<std::size_t>(head.length));
                    shared::copy_out(read_copy_.data(), page_words(page) + c_data, read_copy_.size());
                }
                return;
            }
            binding b = read_binding(h, page, key);
            if (copy)
                copy_value_atomically(b);
        }))
        return std::nullopt;
    return bound;
}

std::optional<bool> table::optimistic_find(std::int32_t key, function_ref<std::int32_t *(std::size_t)> sink,
                                           first_cell first)
{
    std::optional<bool> found = optimistic_lookup(key, true, first);
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

bool table::mem(std::int32_t key)
{
    operation op(*this);
    first_cell first = prefetch_probe(key);
    if (reads_optimistically())
        if (std::optional<bool> bound = optimistic_lookup(key, false, first))
            return *bound;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    const header &h = refresh();
    std::int32_t page = bound_page(h, probe(h, key, false, first));
    if (page == 0)
        return false;
    read_binding(h, page, key);
    return true;
}

bool table::find(std::int32_t key, function_ref<std::int32_t *(std::size_t)> sink)
{
    operation op(*this);
    first_cell first = prefetch_probe(key);
    if (reads_optimistically())
        if (std::optional<bool> found = optimistic_find(key, sink, first))
            return *found;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    const header &h = refresh();
    std::int32_t page = bound_page(h, probe(h, key, false, first));
    if (page == 0)
        return false;
    if (binding_head head = read_head(h, page, key); in_first_page(head)) {
        if (std::int32_t *out = sink(static_cast<std::size_t>(head.length)))
            shared::copy_out_unraced(out, page_words(page) + c_data, static_cast<std::size_t>(head.length));
        return true;
    }
    binding b = read_binding(h, page, key);
    std::optional<page_lock_guard> binding_lock;
    if (static_cast<std::int64_t>(b.pages.size()) > copy_under_descriptor_lock_pages) {
        binding_lock.emplace(locks_, page, lock_kind::read);
        descriptor_lock.release();
    }
    if (std::int32_t *out = sink(static_cast<std::size_t>(b.length)))
        copy_value(b, out);
    return true;
}

std::int64_t table::length()
{
    operation op(*this);
    if (reads_optimistically())
        if (std::optional<std::int64_t> bindings = optimistic_length())
            return *bindings;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    return refresh().bindings;
}

table::memory_view table::memory()
{
    operation op(*this);
    // The view outlives the call and its lock either way: a table without the
    // mutex only validates the descriptor it is taken from.
    std::int64_t total_pages = 0;
    if (reads_without_mutex()) {
        read_optimistically([&] { total_pages = refresh().total_pages; });
    } else {
        page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
        total_pages = refresh().total_pages;
    }
    return {base_, static_cast<std::size_t>(total_pages), static_cast<std::size_t>(words_per_page_)};
}

void table::outside_content_pages(std::int32_t page, const char *what, std::int32_t referrer) const
{
    corrupt(fmt::format("page {}: {} {} is outside the content pages", referrer, what, page));
}

table::binding_head table::read_head_checked(const header &h, std::int32_t page, std::int32_t key) const
{
    if (std::int32_t magic = load(page, c_magic); magic != content_magic)
        corrupt(fmt::format("page {}: bad content page magic {:#010x}", page, bits(magic)));
    if (std::int32_t stored = load(page, c_key); stored != key)
        corrupt(fmt::format("page {}: binding of key {} found for key {}", page, stored, key));
    binding_head head{load(page, c_next_page), load(page, c_older_binding), load(page, c_value_length)};
    if (head.older != 0)
        check_content_page(h, head.older, "older binding", page);
    if (std::int32_t offset = load(page, c_value_offset); offset != 0)
        corrupt(fmt::format("page {}: value offset {} is not 0", page, offset));
    // A value that fits in its first page needs no division to be possible.
    if (head.length < 0 ||
        (head.length > words_per_page_ - c_data && pages_for_value(head.length, words_per_page_) > h.total_pages))
        corrupt(fmt::format("page {}: value length {} is impossible", page, head.length));
    if (head.length <= words_per_page_ - c_data && head.next != 0)
        corrupt(fmt::format("page {}: the value continues past its length {}", page, head.length));
    return head;
}

table::binding table::read_binding(const header &h, std::int32_t page, std::int32_t key) const
{
    binding_head head = read_head(h, page, key);
    std::int32_t next = head.next;
    binding b{page, head.older, head.length, {}};
    b.pages.reserve(static_cast<std::size_t>(pages_for_value(b.length, words_per_page_)));
    b.pages.push_back(page);
    std::int64_t remaining = b.length - std::min<std::int64_t>(b.length, words_per_page_ - c_data);
    std::int32_t current = page;
    for (std::int32_t sequence = 1; remaining > 0; ++sequence) {
        if (next == 0)
            corrupt(fmt::format("page {}: value of length {} ends {} words early", current, b.length,
                                      remaining));
        check_content_page(h, next, "next value page", current);
        if (std::int32_t magic = load(next, f_magic); magic != followup_magic)
            corrupt(fmt::format("page {}: bad follow-up page magic {:#010x}", next, bits(magic)));
        if (std::int32_t stored = load(next, f_key); stored != key)
            corrupt(fmt::format("page {}: follow-up page of key {} found for key {}", next, stored, key));
        if (std::int32_t stored = load(next, f_sequence); stored != sequence)
            corrupt(fmt::format("page {}: sequence number {} where {} was expected", next, stored, sequence));
        current = next;
        next = load(current, f_next_page);
        b.pages.push_back(current);
        remaining -= std::min<std::int64_t>(remaining, words_per_page_ - f_data);
    }
    if (next != 0)
        corrupt(fmt::format("page {}: the value continues past its length {}", current, b.length));
    return b;
}

int table::visit_fragments(const binding &b, function_ref<int(std::int32_t *, std::size_t)> fn) const
{
    std::int64_t remaining = b.length;
    for (std::size_t i = 0; i < b.pages.size(); ++i) {
        int offset = i == 0 ? int{c_data} : int{f_data};
        std::int64_t count = std::min<std::int64_t>(remaining, words_per_page_ - offset);
        int answer = fn(page_words(b.pages[i]) + offset, static_cast<std::size_t>(count));
        if (answer != 0)
            return answer;
        remaining -= count;
    }
    return 0;
}

void table::copy_value(const binding &b, std::int32_t *out) const
{
    visit_fragments(b, [&out](const std::int32_t *fragment, std::size_t count) {
        shared::copy_out_unraced(out, fragment, count);
        out += count;
        return 0;
    });
}

void table::copy_value_atomically(const binding &b)
{
    read_copy_.resize(static_cast<std::size_t>(b.length));
    std::int32_t *out = read_copy_.data();
    visit_fragments(b, [&out](const std::int32_t *fragment, std::size_t count) {
        shared::copy_out(out, fragment, count);
        out += count;
        return 0;
    });
}

} // namespace netshm::core
