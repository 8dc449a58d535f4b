// The C ABI of tables.
#include "boundary.hpp"
#include "handles.hpp"
#include "netshm.h"
#include "table/answers.hpp"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

using netshm::capi::guarded;
using netshm::capi::live;
using netshm::capi::require;
namespace core = netshm::core;

static_assert(int{NETSHM_CONTINUE} == int{core::answer_continue} && int{NETSHM_NEXT} == int{core::answer_next} &&
              int{NETSHM_BREAK} == int{core::answer_break} &&
              int{NETSHM_REMOVE_BINDING} == int{core::answer_remove});

namespace {

std::span<const std::int32_t> value_span(const std::int32_t *value, std::size_t len, const char *function)
{
    if (value == nullptr && len != 0)
        core::throw_invalid(fmt::format("{}: value is NULL but its length is {}", function, len));
    return {value, len};
}

// The newest binding of `key` copied to buf if its *len words fit in cap;
// whether `key` is bound (*len 0 if not).  find_into's path, and find_many's
// for one key: the stages that overlap a batch's cache misses gain nothing
// for one key and cost about 100 instructions (callgrind).
bool find_one(core::table &t, std::int32_t key, std::int32_t *buf, std::size_t cap, std::size_t *len)
{
    *len = 0;
    return t.find(key, [&](std::size_t length) -> std::int32_t * {
        *len = length;
        return length <= cap ? buf : nullptr;
    });
}

} // namespace

extern "C" {

int netshm_manage(netshm_descr *descr, netshm_locking locking, unsigned pagesize, long long init,
                  netshm_table **out)
{
    return guarded([&] {
        require(out, "netshm_manage", "out");
        *out = nullptr;
        require(descr, "netshm_manage", "descr");
        int raw_locking = netshm::capi::enum_argument(locking);
        core::locking_method method;
        switch (raw_locking) {
        case NETSHM_NO_LOCKING: method = core::locking_method::none; break;
        case NETSHM_RECORD_LOCKING: method = core::locking_method::record; break;
        case NETSHM_MUTEX_LOCKING: method = core::locking_method::mutex; break;
        default: core::throw_invalid(fmt::format("netshm_manage: unknown locking method {}", raw_locking));
        }
        auto managed = core::table::manage(descr->object, method, pagesize, init,
                                           core::lock_wait(descr->lock_timeout.load(std::memory_order_relaxed)));
        *out = new netshm_table{std::move(managed)};
    });
}

int netshm_table_close(netshm_table *table)
{
    return guarded([&] {
        require(table, "netshm_table_close", "table");
        if (table->table->in_group())
            core::throw_invalid("netshm_table_close: the table is inside a group; end the group first");
        if (table->table->in_callback())
            throw core::error(core::errc::busy, "netshm_table_close: called from a callback of the table's own "
                                                "operation, which still uses it; close it once the operation returned");
        delete table;
    });
}

int netshm_set_lock_timeout(netshm_table *table, unsigned milliseconds)
{
    return guarded([&] { live(table, "netshm_set_lock_timeout").set_lock_timeout(core::lock_wait(milliseconds)); });
}

int netshm_group(netshm_table *table, int (*fn)(netshm_table *, void *), void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_group", "fn");
        core::table &t = live(table, "netshm_group");
        t.group_begin();
        int rc = fn(table, ctx);
        t.group_end();
        return rc;
    });
}

int netshm_group_write(netshm_table *table, int (*fn)(netshm_table *, void *), void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_group_write", "fn");
        core::table &t = live(table, "netshm_group_write");
        t.group_begin(true);
        int rc = fn(table, ctx);
        t.group_end();
        return rc;
    });
}

int netshm_group_begin_write(netshm_table *table)
{
    return guarded([&] { live(table, "netshm_group_begin_write").group_begin(true); });
}

int netshm_group_begin(netshm_table *table)
{
    return guarded([&] { live(table, "netshm_group_begin").group_begin(); });
}

int netshm_group_end(netshm_table *table)
{
    return guarded([&] { live(table, "netshm_group_end").group_end(); });
}

int netshm_add(netshm_table *table, int32_t key, const int32_t *value, size_t len)
{
    return guarded([&] { live(table, "netshm_add").add(key, value_span(value, len, "netshm_add")); });
}

int netshm_replace(netshm_table *table, int32_t key, const int32_t *value, size_t len)
{
    return guarded([&] { live(table, "netshm_replace").replace(key, value_span(value, len, "netshm_replace")); });
}

int netshm_remove(netshm_table *table, int32_t key)
{
    return guarded([&] { live(table, "netshm_remove").remove(key); });
}

int netshm_mem(netshm_table *table, int32_t key)
{
    return guarded([&] { return live(table, "netshm_mem").mem(key) ? 1 : 0; });
}

int netshm_find(netshm_table *table, int32_t key, int32_t **value, size_t *len)
{
    return guarded([&] {
        require(value, "netshm_find", "value");
        require(len, "netshm_find", "len");
        *value = nullptr;
        *len = 0;
        int32_t *copy = nullptr;
        size_t found_len = 0;
        bool found = live(table, "netshm_find").find(key, [&](size_t length) {
            // At least one word, so an empty value is a non-NULL pointer too.
            copy = static_cast<int32_t *>(std::malloc(std::max<size_t>(length, 1) * sizeof(int32_t)));
            if (copy == nullptr)
                throw std::bad_alloc();
            found_len = length;
            return copy;
        });
        if (!found) {
            netshm::capi::set_last_error_unbound(key);
            return static_cast<int>(NETSHM_ENOTFOUND);
        }
        *value = copy;
        *len = found_len;
        return static_cast<int>(NETSHM_OK);
    });
}

int netshm_find_into(netshm_table *table, int32_t key, int32_t *buf, size_t cap, size_t *len)
{
    return guarded([&] {
        require(len, "netshm_find_into", "len");
        if (buf == nullptr && cap != 0)
            core::throw_invalid("netshm_find_into: buf is NULL but cap is not 0");
        if (!find_one(live(table, "netshm_find_into"), key, buf, cap, len)) {
            netshm::capi::set_last_error_unbound(key);
            return static_cast<int>(NETSHM_ENOTFOUND);
        }
        if (*len > cap) {
            netshm::capi::set_last_error(fmt::format("the value of key {} has {} words, the buffer {}", key, *len, cap), 0);
            return static_cast<int>(NETSHM_ETOOBIG);
        }
        return static_cast<int>(NETSHM_OK);
    });
}

int netshm_find_many(netshm_table *table, const int32_t *keys, size_t n, netshm_found *found, int32_t *values,
                     size_t cap, size_t *needed)
{
    return guarded([&] {
        core::table &t = live(table, "netshm_find_many");
        if (n != 0) {
            require(keys, "netshm_find_many", "keys");
            require(found, "netshm_find_many", "found");
        }
        if (values == nullptr && cap != 0)
            core::throw_invalid("netshm_find_many: values is NULL but cap is not 0");
        auto rc_of = [](bool bound) { return static_cast<int>(bound ? NETSHM_OK : NETSHM_ENOTFOUND); };
        size_t words = 0;
        if (n == 1) {
            int rc = rc_of(find_one(t, keys[0], values, cap, &words));
            found[0] = {0, words, rc};
        } else {
            words = t.find_many({keys, n}, {values, cap},
                                [found, rc_of](size_t first, std::span<const core::table::found_slot> slots) {
                                    netshm_found *out = found + first;
                                    for (const core::table::found_slot &slot : slots)
                                        *out++ = {slot.offset, slot.length, rc_of(slot.bound)};
                                });
        }
        if (needed != nullptr)
            *needed = words;
        if (words > cap) {
            netshm::capi::set_last_error(
                fmt::format("the values of {} keys have {} words, the buffer {}", n, words, cap), 0);
            return static_cast<int>(NETSHM_ETOOBIG);
        }
        return static_cast<int>(NETSHM_OK);
    });
}

void netshm_free(void *memory)
{
    std::free(memory);
}

int netshm_find_all(netshm_table *table, int32_t key, int (*fn)(const int32_t *, size_t, void *), void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_find_all", "fn");
        return live(table, "netshm_find_all").find_all(key, [&](const int32_t *value, size_t length) {
            return fn(value, length, ctx);
        });
    });
}

int netshm_iter(netshm_table *table, int (*fn)(int32_t, const int32_t *, size_t, void *), void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_iter", "fn");
        return live(table, "netshm_iter").iter([&](int32_t key, const int32_t *value, size_t length) {
            return fn(key, value, length, ctx);
        });
    });
}

int netshm_iter_keys(netshm_table *table, int (*fn)(int32_t, void *), void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_iter_keys", "fn");
        return live(table, "netshm_iter_keys").iter_keys([&](int32_t key) { return fn(key, ctx); });
    });
}

int netshm_length(netshm_table *table, size_t *out)
{
    return guarded([&] {
        require(out, "netshm_length", "out");
        *out = static_cast<size_t>(live(table, "netshm_length").length());
    });
}

int netshm_find_blocks(netshm_table *table, int32_t key, int (*fn)(const int32_t *, size_t, void *), void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_find_blocks", "fn");
        return live(table, "netshm_find_blocks").find_blocks(key, [&](const int32_t *fragment, size_t length) {
            return fn(fragment, length, ctx);
        });
    });
}

int netshm_write_blocks(netshm_table *table, unsigned ops, int32_t key, int (*fn)(int32_t *, size_t, void *),
                        void *ctx)
{
    return guarded([&] {
        require(fn, "netshm_write_blocks", "fn");
        if ((ops & ~NETSHM_OP_REMOVE_BINDING) != 0)
            core::throw_invalid(fmt::format("netshm_write_blocks: unknown operations {:#x}", ops));
        return live(table, "netshm_write_blocks")
            .write_blocks((ops & NETSHM_OP_REMOVE_BINDING) != 0, key,
                          [&](int32_t *fragment, size_t length) { return fn(fragment, length, ctx); });
    });
}

int netshm_dump(netshm_table *table, int fd)
{
    return guarded([&] { live(table, "netshm_dump").dump(fd); });
}

int netshm_memory(netshm_table *table, int32_t **base, size_t *pages, size_t *words_per_page)
{
    return guarded([&] {
        require(base, "netshm_memory", "base");
        require(pages, "netshm_memory", "pages");
        require(words_per_page, "netshm_memory", "words_per_page");
        core::table::memory_view view = live(table, "netshm_memory").memory();
        *base = view.base;
        *pages = view.pages;
        *words_per_page = view.words_per_page;
    });
}

} // extern "C"
