// Random characters for unique object names, from the kernel's generator.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace netshm::core {

class random_name_generator {
public:
    // Writes into `out` the template with each 'X' of its last component
    // (after the last '/') replaced by a random character of [0-9A-Z] (upper
    // case only: some file systems ignore case).
    void fill_placeholders(std::string_view name_template, std::string &out);

private:
    unsigned char next_byte();

    std::array<unsigned char, 64> pool_{};
    std::size_t used_ = pool_.size();
};

} // namespace netshm::core
