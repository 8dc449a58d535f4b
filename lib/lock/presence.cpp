#include "lock/presence.hpp"

#include "util/error.hpp"

#include <fmt/format.h>
#include <mutex>
#include <utility>

namespace netshm::core {
namespace {

const char *method_of(off_t presence_byte)
{
    return presence_byte == mutex_presence_byte ? "mutex" : "record";
}

lock_subject subject(off_t byte)
{
    return lock_subject{"byte", byte};
}

// At once, even inside a group (a table managed inside another table's group
// must not hold off every other process's netshm_manage).  For cleanup paths:
// a lock the kernel would not release goes when the state's descriptor closes.
void unlock_quietly(lock_state &state, off_t byte) noexcept
{
    try {
        state.unlock_now(byte);
    } catch (...) {
    }
}

// Releases the setup lock when the constructor ends, normally or not.
class setup_hold {
public:
    setup_hold(lock_state &state, lock_kind kind) : state_(state) { state.lock(setup_byte, kind, subject(setup_byte)); }
    setup_hold(const setup_hold &) = delete;
    setup_hold &operator=(const setup_hold &) = delete;
    ~setup_hold() { unlock_quietly(state_, setup_byte); }

private:
    lock_state &state_;
};

} // namespace

presence presence::record_locking(std::shared_ptr<lock_state> state)
{
    return presence(std::move(state), record_presence_byte, mutex_presence_byte, lock_kind::read, nullptr);
}

presence presence::mutex_locking(std::shared_ptr<lock_state> state, function_ref<void()> initialise_lock_area)
{
    return presence(std::move(state), mutex_presence_byte, record_presence_byte, lock_kind::write,
                    &initialise_lock_area);
}

presence presence::mutex_reading(std::shared_ptr<lock_state> state, function_ref<void()> check_lock_area)
{
    return presence(std::move(state), mutex_presence_byte, record_presence_byte, lock_kind::read,
                    &check_lock_area);
}

// Why two processes of different methods never both miss each other: each
// one takes its own byte, then checks the other method's, while it holds
// the setup byte.  The setup byte's holds conflict when one of them takes it
// in write mode (mutex locking with write access), so one comes second and
// finds the first one's presence taken.  When both hold it in read mode
// (record locking, and mutex locking on a descriptor open read-only), the
// fcntl locks are still taken in one order: whichever checks last finds the
// other's byte taken (both may refuse, never both pass).  Two mutex-mode
// processes with write access exclude each other, and every read-only one,
// through the setup byte, so "no process holds the mutex presence" stays
// true until the lock area is set up.  Record locking and read-only mutex
// locking take the setup byte in read mode: they need not exclude each
// other's kind, and a descriptor opened read-only could not take a write
// lock.  The presence bytes are only ever read-locked, so taking one never
// waits, and the setup lock is held only briefly.
presence::presence(std::shared_ptr<lock_state> state, off_t own, off_t other, lock_kind setup_kind,
                   function_ref<void()> *run_if_first)
    : state_(std::move(state)), byte_(own), generation_(fork_generation())
{
    lock_state &s = *state_;
    std::lock_guard<recursive_mutex> operation(s.mutex());
    setup_hold setup(s, setup_kind);
    const bool first = run_if_first != nullptr && !s.holds(own) && !s.others_hold(own, lock_kind::write, subject(own));
    s.lock(own, lock_kind::read, subject(own));
    try {
        const bool here = s.holds(other);
        if (here || s.others_hold(other, lock_kind::write, subject(other)))
            throw error(errc::busy, fmt::format("{}: the object is open with {} locking in {} process; {} locking "
                                                "cannot be used meanwhile",
                                                s.name(), method_of(other), here ? "this" : "another",
                                                method_of(own)));
        if (first)
            (*run_if_first)();
    } catch (...) {
        unlock_quietly(s, own);
        throw;
    }
}

void truncate_unless_open(shm_object &object)
{
    lock_state &s = object.locks();
    std::lock_guard<recursive_mutex> operation(s.mutex());
    if (object.size() == 0)
        return;
    setup_hold setup(s, lock_kind::write);
    for (off_t present : {record_presence_byte, mutex_presence_byte}) {
        const bool here = s.holds(present);
        if (here || s.others_hold(present, lock_kind::write, subject(present)))
            throw error(errc::busy, fmt::format("{}: a table on the object is open with {} locking in {} process; "
                                                "O_TRUNC would pull its pages away, so the object is not truncated",
                                                object.name(), method_of(present), here ? "this" : "another"));
    }
    object.truncate();
}

presence::presence(presence &&other) noexcept
    : state_(std::move(other.state_)), byte_(other.byte_), generation_(other.generation_)
{
}

presence &presence::operator=(presence &&other) noexcept
{
    if (this != &other) {
        release();
        state_ = std::move(other.state_);
        byte_ = other.byte_;
        generation_ = other.generation_;
    }
    return *this;
}

presence::~presence()
{
    release();
}

void presence::release() noexcept
{
    std::shared_ptr<lock_state> state = std::move(state_);
    // A child after fork holds none of its parent's locks, and must not wait
    // for a state mutex that a parent's thread may hold.
    if (!state || generation_ != fork_generation())
        return;
    std::lock_guard<recursive_mutex> operation(state->mutex());
    unlock_quietly(*state, byte_);
}

} // namespace netshm::core
