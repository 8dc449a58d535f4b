// A non-owning reference to a callable, for callbacks that do not outlive the call.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace netshm::core {

template <class Signature>
class function_ref;

template <class Result, class... Args>
class function_ref<Result(Args...)> {
public:
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, function_ref>>>
    function_ref(F &&f) noexcept // NOLINT: implicit by design, like std::function
        : object_(const_cast<void *>(static_cast<const void *>(std::addressof(f)))),
          call_([](void *object, Args... args) -> Result {
              return (*static_cast<std::remove_reference_t<F> *>(object))(std::forward<Args>(args)...);
          })
    {
    }

    Result operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

private:
    void *object_;
    Result (*call_)(void *, Args...);
};

} // namespace netshm::core
