// W1 on Boost.Interprocess: a managed_shared_memory segment (/dev/shm/NAME)
// holding a boost::unordered_map<int32, 4 x int32> with the segment's
// allocator, and an interprocess_sharable_mutex in the segment: shared lock
// for finds and iteration, exclusive for writes.  Segment: 32 MiB + 512 bytes
// per key, of which only the pages touched take memory.
#include "w1_driver.hpp"

#include <boost/container_hash/hash.hpp>
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_sharable_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/interprocess/sync/sharable_lock.hpp>
#include <boost/unordered_map.hpp>

#include <functional>

namespace {

namespace bip = boost::interprocess;

using segment_manager = bip::managed_shared_memory::segment_manager;
using entry = std::pair<const std::int32_t, bench::value>;
using shared_map = boost::unordered_map<std::int32_t, bench::value, boost::hash<std::int32_t>,
                                        std::equal_to<std::int32_t>, bip::allocator<entry, segment_manager>>;
using read_lock = bip::sharable_lock<bip::interprocess_sharable_mutex>;
using write_lock = bip::scoped_lock<bip::interprocess_sharable_mutex>;

// The segment's name: the file's name under /dev/shm.
std::string segment_name(const bench::config &c) { return c.base.substr(c.base.rfind('/') + 1); }

class boost_store {
public:
    static constexpr const char *system = "boost";
    static std::vector<std::string> variants() { return {"sharable_mutex"}; }
    static std::string unavailable(const bench::config &c)
    {
        return c.dir == "/dev/shm" ? "" : "Boost.Interprocess segments live in /dev/shm only";
    }
    static std::string no_multi_process(const bench::config &) { return {}; }
    static std::vector<std::string> files(const bench::config &c) { return {"/dev/shm/" + segment_name(c)}; }

    boost_store(const bench::config &c, bool create)
    try : segment_(create ? bip::managed_shared_memory(bip::create_only, segment_name(c).c_str(),
                                                       (std::size_t{32} << 20) + c.n * 512)
                          : bip::managed_shared_memory(bip::open_only, segment_name(c).c_str())) {
        if (create) {
            map_ = segment_.construct<shared_map>("w1")(0, boost::hash<std::int32_t>(), std::equal_to<std::int32_t>(),
                                                        segment_.get_allocator<entry>());
            mutex_ = segment_.construct<bip::interprocess_sharable_mutex>("w1 lock")();
        } else {
            map_ = segment_.find<shared_map>("w1").first;
            mutex_ = segment_.find<bip::interprocess_sharable_mutex>("w1 lock").first;
        }
        if (map_ == nullptr || mutex_ == nullptr)
            throw bench::failure("the map or its mutex is missing from the segment");
    } catch (const bip::interprocess_exception &e) {
        throw bench::failure(std::string("managed_shared_memory: ") + e.what());
    }

    void add(std::int32_t key, const bench::value &v)
    {
        write_lock lock(*mutex_);
        if (!map_->emplace(key, v).second)
            throw bench::failure("add: key " + std::to_string(key) + " is bound already");
    }
    void replace(std::int32_t key, const bench::value &v)
    {
        write_lock lock(*mutex_);
        (*map_)[key] = v;
    }
    void remove(std::int32_t key)
    {
        write_lock lock(*mutex_);
        map_->erase(key);
    }

    bool find(std::int32_t key, bench::value &out, std::size_t &len)
    {
        read_lock lock(*mutex_);
        auto it = map_->find(key);
        if (it == map_->end())
            return false;
        out = it->second;
        len = out.size();
        return true;
    }

    template <class F>
    void iter(F f)
    {
        read_lock lock(*mutex_);
        for (const entry &e : *map_)
            f(e.first, e.second.data(), e.second.size());
    }

    std::size_t length()
    {
        read_lock lock(*mutex_);
        return map_->size();
    }

private:
    bip::managed_shared_memory segment_;
    shared_map *map_ = nullptr;
    bip::interprocess_sharable_mutex *mutex_ = nullptr;
};

} // namespace

int main(int argc, char **argv) { return bench::main_w1<boost_store>(argc, argv); }
