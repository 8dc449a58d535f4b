// A library user's C++ program, built against an installed netshm or netshm as
// a Meson subproject: creates a table in a POSIX object, binds a key, finds it
// and removes the object.
#include <netshm.hpp>

#include <iostream>
#include <string>
#include <vector>

int main()
{
    try {
        auto descr = netshm::descriptor::create_unique(netshm::shm_type::posix,
                                                       "/netshm-consumer-XXXXXX");
        const std::string name = descr.name();
        {
            auto table = netshm::table::manage(descr, netshm::locking::record, 0, 1000);
            const std::vector<int32_t> value{1, 2, 3};
            table.add(7, value);
            if (table.find(7) != value) {
                std::cerr << "find 7 did not give 1 2 3\n";
                return 1;
            }
        }
        descr.close();
        netshm::unlink(netshm::shm_type::posix, name);
        std::cout << "C++ consumer, netshm " << netshm_version() << ": bound 7 to 1 2 3 in " << name
                  << ", found it and removed the object\n";
    } catch (const netshm::error &e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
    return 0;
}
