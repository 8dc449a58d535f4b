// A library user's C++ program, built against an installed netshm or netshm as
// a Meson subproject: creates, names and removes a POSIX object.
#include <netshm.hpp>

#include <iostream>
#include <string>

int main()
{
    try {
        auto descr = netshm::descriptor::create_unique(netshm::shm_type::posix,
                                                       "/netshm-consumer-XXXXXX");
        const std::string name = descr.name();
        descr.close();
        netshm::unlink(netshm::shm_type::posix, name);
        std::cout << "C++ consumer, netshm " << netshm_version() << ": created and removed " << name
                  << '\n';
    } catch (const netshm::error &e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
    return 0;
}
