#include "lock/initialisation_lock.hpp"

namespace netshm::core {

initialisation_lock initialisation_lock::exclusive(lock_state &state)
{
    state.lock(initialisation_byte, lock_kind::write, lock_subject{"byte", initialisation_byte});
    initialisation_lock held(state, false);
    // In this order everywhere: the initialisation byte, then page locks.
    state.lock_range(0, setup_byte, lock_subject{"page bytes up to", setup_byte});
    held.pages_ = true;
    return held;
}

initialisation_lock initialisation_lock::shared(lock_state &state)
{
    state.lock(initialisation_byte, lock_kind::read, lock_subject{"byte", initialisation_byte});
    return initialisation_lock(state, false);
}

initialisation_lock::initialisation_lock(initialisation_lock &&other) noexcept
    : state_(other.state_), pages_(other.pages_)
{
    other.state_ = nullptr;
}

initialisation_lock::~initialisation_lock()
{
    if (state_ == nullptr)
        return;
    // A lock the kernel would not release goes when the state's descriptor
    // closes; a destructor cannot do more.
    try {
        if (pages_)
            state_->unlock_range(0, setup_byte);
    } catch (...) {
    }
    try {
        state_->unlock_now(initialisation_byte);
    } catch (...) {
    }
}

} // namespace netshm::core
