#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace netshm::core {

void throw_system(int err, std::string_view operation, std::string_view name)
{
    std::string message;
    message.reserve(operation.size() + name.size() + 40);
    message.append(operation).append(" ").append(name).append(": ").append(std::strerror(err));
    errc code = errc::system;
    if (err == ENOENT)
        code = errc::not_found;
    else if (err == EEXIST)
        code = errc::exists;
    else if (err == ENOMEM)
        code = errc::no_memory;
    throw error(code, std::move(message), err);
}

void throw_invalid(std::string message)
{
    throw error(errc::invalid, std::move(message));
}

} // namespace netshm::core
