// Presence locks (lib/lock/presence.hpp): mutex locking and record locking
// refuse each other, in other processes and in this one; only the first
// mutex-mode process sets up the lock area; a dead process's presence goes.
#include "lock/presence.hpp"

#include "util/error.hpp"
#include "shm/lock_state.hpp"
#include "lock_test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

namespace {

using netshm::core::errc;
using netshm::core::error;
using netshm::core::lock_state;
using netshm::core::presence;
using netshm_test::child_channel;
using lock_test::scratch_file;

enum class method { mutex, record };

const char *name_of(method m)
{
    return m == method::mutex ? "mutex" : "record";
}

method other_than(method m)
{
    return m == method::mutex ? method::record : method::mutex;
}

// A presence of `m`; `first` tells whether it set up the lock area.
presence take(const std::shared_ptr<lock_state> &state, method m, bool *first = nullptr)
{
    if (m == method::record)
        return presence::record_locking(state);
    bool initialised = false;
    presence taken = presence::mutex_locking(state, [&] { initialised = true; });
    if (first != nullptr)
        *first = initialised;
    return taken;
}

// "ok", "ok first" or "busy: <message>": what taking `m` gives, for a child's report.
std::string attempt(const std::shared_ptr<lock_state> &state, method m, std::optional<presence> &kept)
{
    try {
        bool first = false;
        kept.emplace(take(state, m, &first));
        return first ? "ok first" : "ok";
    } catch (const error &e) {
        return std::string(e.code() == errc::busy ? "busy: " : "error: ") + e.what();
    }
}

// The object's lock state in a child: its own descriptor, a fresh state.
std::shared_ptr<lock_state> state_in_child(const scratch_file &file)
{
    int fd = ::open(file.path().c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error("open failed");
    auto state = lock_state::of(fd, true, file.path());
    ::close(fd);
    return state;
}

// The busy message names the method in use and where.
void check_busy(const std::string &report, method in_use, const char *where)
{
    INFO(report);
    CHECK(report.rfind("busy: ", 0) == 0);
    CHECK(report.find(std::string("open with ") + name_of(in_use) + " locking in " + where) != std::string::npos);
}

} // namespace

TEST_CASE("presence: the other method is refused across processes, the same one is allowed", "[presence][process]")
{
    const method held = GENERATE(method::mutex, method::record);
    CAPTURE(name_of(held));
    scratch_file file;
    auto state = lock_state::of(file.fd(), true, file.path());
    presence mine = take(state, held);
    CHECK_FALSE(state->holds(netshm::core::setup_byte));

    netshm_test::child child(5, [&](const child_channel &parent) {
        auto own = state_in_child(file);
        std::optional<presence> other, same;
        parent.say(attempt(own, other_than(held), other));
        parent.say(attempt(own, held, same));
        parent.await();
    });
    check_busy(child.line(), held, "another process");
    CHECK(child.line() == "ok");
    // While the child holds `held` too, this process is refused the other method.
    std::optional<presence> refused;
    check_busy(attempt(state, other_than(held), refused), held, "this process");
    child.go();
    CHECK(child.finish().empty());
}

TEST_CASE("presence: a process holding one method is refused the other", "[presence]")
{
    const method held = GENERATE(method::mutex, method::record);
    CAPTURE(name_of(held));
    scratch_file file;
    auto state = lock_state::of(file.fd(), true, file.path());
    std::optional<presence> mine(take(state, held));
    std::optional<presence> other;
    check_busy(attempt(state, other_than(held), other), held, "this process");
    {
        presence again = take(state, held);
    }
    // Released once per taking: one presence is still held.
    check_busy(attempt(state, other_than(held), other), held, "this process");
    mine.reset();
    CHECK(attempt(state, other_than(held), other).rfind("ok", 0) == 0);
}

TEST_CASE("presence: only the first mutex-mode process sets up the lock area", "[presence][process]")
{
    scratch_file file;
    auto state = lock_state::of(file.fd(), true, file.path());
    bool first = false;
    std::optional<presence> mine(take(state, method::mutex, &first));
    CHECK(first);
    presence second_table = take(state, method::mutex, &first);
    CHECK_FALSE(first);

    netshm_test::child child(5, [&](const child_channel &parent) {
        auto own = state_in_child(file);
        std::optional<presence> kept;
        parent.say(attempt(own, method::mutex, kept));
        parent.await();
    });
    CHECK(child.line() == "ok");
    mine.reset();
    {
        // Released by both of this process's tables: the child still holds it.
        presence moved = std::move(second_table);
    }
    std::optional<presence> again(take(state, method::mutex, &first));
    CHECK_FALSE(first);
    child.kill_now();
    again.reset();
    presence alone = take(state, method::mutex, &first);
    CHECK(first);
}

TEST_CASE("presence: a process that exits or is killed no longer counts", "[presence][process]")
{
    const bool killed = GENERATE(false, true);
    CAPTURE(killed);
    scratch_file file;
    auto state = lock_state::of(file.fd(), true, file.path());
    netshm_test::child child(5, [&](const child_channel &parent) {
        auto own = state_in_child(file);
        std::optional<presence> kept;
        parent.say(attempt(own, method::mutex, kept));
        parent.await();
    });
    REQUIRE(child.line() == "ok first");
    std::optional<presence> refused;
    check_busy(attempt(state, method::record, refused), method::mutex, "another process");
    if (killed) {
        child.kill_now();
    } else {
        child.go();
        CHECK(child.finish().empty());
    }
    bool first = false;
    presence after = take(state, method::mutex, &first);
    CHECK(first);
}

TEST_CASE("presence: a lock area set-up that throws leaves nothing held", "[presence]")
{
    scratch_file file;
    auto state = lock_state::of(file.fd(), true, file.path());
    CHECK_THROWS_AS(presence::mutex_locking(state, [] { throw error(errc::corrupt, "damaged"); }), error);
    CHECK_FALSE(state->holds(netshm::core::setup_byte));
    CHECK_FALSE(state->holds(netshm::core::mutex_presence_byte));
    presence record = presence::record_locking(state);
}

TEST_CASE("presence: record locking on a read-only descriptor", "[presence][process]")
{
    scratch_file file;
    int read_only = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(read_only >= 0);
    auto state = lock_state::of(read_only, false, file.path());
    ::close(read_only);
    presence reader = presence::record_locking(state);

    netshm_test::child child(5, [&](const child_channel &parent) {
        auto own = state_in_child(file);
        std::optional<presence> kept;
        parent.say(attempt(own, method::mutex, kept));
    });
    check_busy(child.line(), method::record, "another process");
    CHECK(child.finish().empty());
}
