// The lock area of mutex locking (lib/lock/lock_area.hpp): its words where
// doc/locking.md puts them, the robust mutex across processes, the sequence
// counter and the intent record.  The cases tagged [thread] race threads of
// one process and are also run under ThreadSanitizer (suite 'threads').
#include "lock/lock_area.hpp"

#include "util/error.hpp"
#include "lock_test_support.hpp"
#include "shm/mapping.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using netshm::core::errc;
using netshm::core::error;
using netshm::core::intent;
using netshm::core::lock_area;
using netshm::core::mapping;
using netshm::core::layout::intent_op;
using lock_test::scratch_file;

// Every lock of these tests waits as long as it takes.
constexpr netshm::core::lock_wait forever{0};

std::int32_t word_at(const scratch_file &file, int index)
{
    std::int32_t value = 0;
    REQUIRE(::pread(file.fd(), &value, sizeof value, index * 4) == static_cast<ssize_t>(sizeof value));
    return value;
}

void put_word(const scratch_file &file, int index, std::int32_t value)
{
    REQUIRE(::pwrite(file.fd(), &value, sizeof value, index * 4) == static_cast<ssize_t>(sizeof value));
}

template <class F>
errc code_of(F &&f)
{
    try {
        f();
    } catch (const error &e) {
        return e.code();
    }
    FAIL("no netshm error was thrown");
    return errc::not_found;
}

intent sample_intent()
{
    intent record;
    record.op = intent_op::replace;
    record.key = -7;
    record.snapshot = {101, 102, 103, 104, 105, 106, 107};
    record.cell_index = 201;
    record.cell_old_key = 202;
    record.cell_old_ptr = -1;
    record.allocated_first = 301;
    record.allocated_count = 302;
    record.free_head_after = 303;
    record.freed_first = 401;
    record.freed_count = 402;
    record.reinit_hint = -(std::int64_t{5} << 32) - 3;
    return record;
}

bool same(const intent &a, const intent &b)
{
    const auto &s = a.snapshot;
    const auto &t = b.snapshot;
    return a.op == b.op && a.key == b.key && s.total_pages == t.total_pages && s.hash_size == t.hash_size &&
           s.claimed_cells == t.claimed_cells && s.bindings == t.bindings && s.free_head == t.free_head &&
           s.free_count == t.free_count && s.extents == t.extents && a.cell_index == b.cell_index &&
           a.cell_old_key == b.cell_old_key && a.cell_old_ptr == b.cell_old_ptr &&
           a.allocated_first == b.allocated_first && a.allocated_count == b.allocated_count &&
           a.free_head_after == b.free_head_after && a.freed_first == b.freed_first &&
           a.freed_count == b.freed_count && a.reinit_hint == b.reinit_hint;
}

} // namespace

TEST_CASE("lock_area: initialise writes the magic at word 5 and leaves page 0's format words alone", "[lock_area]")
{
    scratch_file file;
    for (int w = 0; w < 5; ++w)
        put_word(file, w, 1000 + w);
    lock_area area(file.fd(), file.path());
    CHECK_FALSE(area.is_initialised());
    area.initialise();
    CHECK(area.is_initialised());
    CHECK(word_at(file, 5) == 0x4E534D58);
    for (int w = 0; w < 5; ++w)
        CHECK(word_at(file, w) == 1000 + w);
    for (int w = 18; w < 40; ++w)
        CHECK(word_at(file, w) == 0);
    CHECK_FALSE(area.is_corrupt());
    CHECK(area.read_intent().op == intent_op::none);
    CHECK(area.read_begin() == 0);
    CHECK_FALSE(area.lock(forever));
    area.unlock();
}

TEST_CASE("lock_area: an object smaller than the lock area is refused", "[lock_area]")
{
    scratch_file file(100);
    CHECK(code_of([&] { lock_area area(file.fd(), file.path()); }) == errc::invalid);
}

TEST_CASE("lock_area: a writer that dies holding the mutex is reported to the next one", "[lock_area][process]")
{
    const bool killed = GENERATE(false, true);
    CAPTURE(killed);
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    {
        netshm_test::child child(5, [&](const netshm_test::child_channel &parent) {
            lock_area own(file.fd(), file.path());
            (void)own.lock(forever);
            parent.say("locked");
            if (killed)
                parent.await();
            // Dies holding it, with the mapping the robust list points into.
            ::_exit(0);
        });
        REQUIRE(child.line() == "locked");
        if (killed)
            child.kill_now();
        else
            CHECK(child.finish().empty());
    }
    CHECK(area.lock(forever));
    area.mark_consistent();
    area.unlock();
    CHECK_FALSE(area.lock(forever));
    area.unlock();
}

TEST_CASE("lock_area: a mutex released without recovery stays unusable until initialised again", "[lock_area][process]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    {
        netshm_test::child child(5, [&](const netshm_test::child_channel &parent) {
            lock_area own(file.fd(), file.path());
            parent.say(own.lock(forever) ? "owner died" : "locked");
            ::_exit(0);
        });
        REQUIRE(child.line() == "locked");
        CHECK(child.finish().empty());
    }
    REQUIRE(area.lock(forever));
    area.unlock();
    CHECK(code_of([&] { (void)area.lock(forever); }) == errc::corrupt);
    area.initialise();
    CHECK_FALSE(area.lock(forever));
    area.unlock();
}

TEST_CASE("lock_area: locking twice from one thread is an error, not a hang", "[lock_area]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    REQUIRE_FALSE(area.lock(forever));
    CHECK(code_of([&] { (void)area.lock(forever); }) == errc::system);
    area.unlock();
}

TEST_CASE("lock_area: the counter is odd while a writer is at work and readers across a write fail", "[lock_area]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    const std::uint32_t before = area.read_begin();
    CHECK(lock_area::stable(before));
    CHECK(area.read_validate(before));

    area.begin_write();
    const std::uint32_t during = area.read_begin();
    CHECK_FALSE(lock_area::stable(during));
    CHECK_FALSE(area.read_validate(before));
    area.begin_write(); // a second mutation of a group
    CHECK(area.read_begin() == during);
    area.end_write();
    const std::uint32_t after = area.read_begin();
    CHECK(lock_area::stable(after));
    CHECK(after == before + 2);
    CHECK_FALSE(area.read_validate(before));
    CHECK_FALSE(area.read_validate(during));
    CHECK(area.read_validate(after));
    area.end_write(); // nothing was begun
    CHECK(area.read_begin() == after);
    CHECK(word_at(file, 18) == static_cast<std::int32_t>(after));
}

TEST_CASE("lock_area: the counter wraps around", "[lock_area]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    put_word(file, 18, -2);
    area.begin_write();
    area.end_write();
    CHECK(area.read_begin() == 0);
}

TEST_CASE("lock_area: optimistic readers never accept a torn read", "[lock_area][thread]")
{
    scratch_file file(8192);
    lock_area area(file.fd(), file.path());
    area.initialise();
    // The data: words of the object's second system page, all equal when stable.
    mapping data_page(file.fd(), 8192, true, file.path());
    std::int32_t *data = data_page.words() + 1024;
    constexpr int data_words = 64;
    constexpr std::uint32_t writes = 2000;

    std::atomic<bool> done{false};
    std::atomic<long> torn{0}, validated{0};
    auto reader = [&] {
        while (!done.load(std::memory_order_acquire)) {
            const std::uint32_t begun = area.read_begin();
            if (!lock_area::stable(begun))
                continue;
            std::int32_t first = __atomic_load_n(&data[0], __ATOMIC_RELAXED);
            bool equal = true;
            for (int i = 1; i < data_words; ++i)
                equal = equal && __atomic_load_n(&data[i], __ATOMIC_RELAXED) == first;
            if (!area.read_validate(begun))
                continue;
            validated.fetch_add(1, std::memory_order_relaxed);
            if (!equal)
                torn.fetch_add(1, std::memory_order_relaxed);
        }
    };
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
        readers.emplace_back(reader);
    // At least `writes` writes, and on until the readers have had their turn
    // (threads start late on a busy machine), for 2 s at the most.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::uint32_t written = 0;
    while (written < writes ||
           (validated.load(std::memory_order_relaxed) < 100 && std::chrono::steady_clock::now() < deadline)) {
        ++written;
        area.begin_write();
        for (int i = 0; i < data_words; ++i)
            __atomic_store_n(&data[i], static_cast<std::int32_t>(written), __ATOMIC_RELAXED);
        area.end_write();
    }
    done.store(true, std::memory_order_release);
    for (std::thread &t : readers)
        t.join();
    CHECK(torn.load() == 0);
    CHECK(validated.load() > 0);
    CHECK(area.read_begin() == 2 * written);
}

TEST_CASE("lock_area: what a writer stored before end_write is seen by a reader that saw the counter", "[lock_area][thread]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    // A plain variable: ThreadSanitizer reports a race unless end_write's
    // store releases and read_begin's load acquires.
    int payload = 0;
    std::thread writer([&] {
        area.begin_write();
        payload = 42;
        area.end_write();
    });
    while (area.read_begin() != 2)
        std::this_thread::yield();
    CHECK(payload == 42);
    writer.join();
}

TEST_CASE("lock_area: the intent record round trip, word by word as doc/locking.md lays it out", "[lock_area]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    const intent record = sample_intent();
    area.write_intent(record);
    CHECK(same(area.read_intent(), record));
    const std::vector<std::int32_t> expected{
        2, -7, 101, 102, 103, 104, 105, 106, 107, 201, 202, -1, 301, 302, 303, 401, 402,
        -3, -6, // the hint -(5 << 32) - 3: low word, then high word
        0};
    for (int w = 20; w < 40; ++w) {
        CAPTURE(w);
        CHECK(word_at(file, w) == expected[static_cast<std::size_t>(w - 20)]);
    }
    area.clear_intent();
    CHECK(word_at(file, 20) == 0);
    CHECK(area.read_intent().op == intent_op::none);
}

TEST_CASE("lock_area: an intent operation this library never writes is damage", "[lock_area]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    put_word(file, 20, GENERATE(7, 99, -1, 0x7FFFFFFF));
    CHECK(code_of([&] { (void)area.read_intent(); }) == errc::corrupt);
}

TEST_CASE("lock_area: the intent's fields are seen by whoever sees its operation", "[lock_area][thread]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    // As above: a race report unless the operation word releases and acquires.
    int payload = 0;
    const intent record = sample_intent();
    std::thread writer([&] {
        payload = 42;
        area.write_intent(record);
    });
    intent seen;
    while ((seen = area.read_intent()).op == intent_op::none)
        std::this_thread::yield();
    CHECK(payload == 42);
    CHECK(same(seen, record));
    writer.join();
}

TEST_CASE("lock_area: the state word: anything but consistent counts as corrupt", "[lock_area]")
{
    scratch_file file;
    lock_area area(file.fd(), file.path());
    area.initialise();
    CHECK_FALSE(area.is_corrupt());
    area.set_corrupt(true);
    CHECK(area.is_corrupt());
    CHECK(word_at(file, 19) == 1);
    area.set_corrupt(false);
    CHECK_FALSE(area.is_corrupt());
    put_word(file, 19, 7);
    CHECK(area.is_corrupt());
    area.initialise();
    CHECK_FALSE(area.is_corrupt());
}
