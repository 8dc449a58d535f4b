// Opening objects while another thread is inside a group (issue 4, DESIGN
// §7): a thread in a group holds its object's mutex; other threads opening
// descriptors of that object, or of any other, must not deadlock with it.
// Each scenario runs in a forked child bounded by its alarm, so that a
// deadlock fails the test instead of hanging it.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <string>
#include <thread>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::scratch_names;

void create_table(const std::string &name)
{
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    auto table = manage_ok(descr.get(), 0, 16);
}

// Runs the scenario in a child: a thread opens `f` (read-only or not), begins
// a group; another thread opens `f` read-write meanwhile; the first thread
// opens `g`, ends its group.  Everything must complete.
void run_scenario(bool first_read_only)
{
    bound_test_time(60);
    scratch_names names;
    const std::string f = names.fresh(NETSHM_TYPE_FILE);
    const std::string g = names.fresh(NETSHM_TYPE_FILE);
    create_table(f);
    create_table(g);
    child scenario(3, [&]() -> std::string {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, f.c_str(), first_read_only ? O_RDONLY : O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK || netshm_group_begin(t) != NETSHM_OK)
            return std::string("first handle: ") + netshm_last_error();
        std::string other_report;
        std::thread other([&] {
            netshm_descr *rw = nullptr;
            if (netshm_open(NETSHM_TYPE_FILE, f.c_str(), O_RDWR, 0, &rw) != NETSHM_OK)
                other_report = std::string("other thread: ") + netshm_last_error();
            netshm_close(rw);
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::string report;
        netshm_descr *other_object = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, g.c_str(), O_RDWR, 0, &other_object) != NETSHM_OK)
            report = std::string("open g: ") + netshm_last_error();
        netshm_close(other_object);
        if (netshm_group_end(t) != NETSHM_OK)
            report += std::string("group_end: ") + netshm_last_error();
        other.join();
        netshm_table_close(t);
        netshm_close(d);
        return report + other_report;
    });
    CHECK(scenario.finish().empty());
}

TEST_CASE("open in group: a thread in a group opens another object while another thread opens its own",
          "[concurrency]")
{
    run_scenario(false);
}

// When the object was opened read-only first, the other thread's O_RDWR open
// waits for the group's mutex (to adopt its writable descriptor): it must not
// hold the registry of lock states meanwhile, or the thread in the group
// could not open `g` (a deadlock: the child would be killed by its alarm).
TEST_CASE("open in group: the same when the object was opened read-only first",
          "[concurrency]")
{
    run_scenario(true);
}

} // namespace
