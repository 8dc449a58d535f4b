#include "read_source.hpp"
#include "whole_io.hpp"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace netshm_tool {

std::string read_source(const std::string &path)
{
    if (path == "-")
        return read_all(STDIN_FILENO, "standard input");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "open " + path);
    try {
        std::string text = read_all(fd, path);
        ::close(fd);
        return text;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

} // namespace netshm_tool
