#include "whole_io.hpp"

#include <cerrno>
#include <system_error>
#include <unistd.h>

namespace netshm_tool {

std::string read_all(int fd, const std::string &what)
{
    std::string text;
    char buffer[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n == 0)
            return text;
        if (n > 0)
            text.append(buffer, static_cast<std::size_t>(n));
        else if (errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "read " + what);
    }
}

void write_all(int fd, std::string_view text) noexcept
{
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n > 0)
            text.remove_prefix(static_cast<std::size_t>(n));
        else if (n < 0 && errno != EINTR)
            return;
    }
}

} // namespace netshm_tool
