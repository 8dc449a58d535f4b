#include "shm/random_name.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <sys/random.h>

namespace netshm::core {
namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
// Bytes at or above this value are rejected so that every character is equally likely.
constexpr unsigned unbiased_limit = 256 - 256 % alphabet.size();

} // namespace

unsigned char random_name_generator::next_byte()
{
    if (used_ == pool_.size()) {
        std::size_t filled = 0;
        while (filled < pool_.size()) {
            ssize_t n = ::getrandom(pool_.data() + filled, pool_.size() - filled, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                throw_system(errno, "getrandom", "for a unique name");
            }
            filled += static_cast<std::size_t>(n);
        }
        used_ = 0;
    }
    return pool_[used_++];
}

void random_name_generator::fill_placeholders(std::string_view name_template, std::string &out)
{
    out.assign(name_template);
    // The folders of a file's path exist already: an 'X' there is part of
    // their name, and only the last component is made up.
    std::size_t last_slash = out.rfind('/');
    std::size_t first = last_slash == std::string::npos ? 0 : last_slash + 1;
    for (std::size_t i = first; i < out.size(); ++i) {
        if (out[i] != 'X')
            continue;
        unsigned char byte;
        do
            byte = next_byte();
        while (byte >= unbiased_limit);
        out[i] = alphabet[byte % alphabet.size()];
    }
}

} // namespace netshm::core
