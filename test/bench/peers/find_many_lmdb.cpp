// netshm_find_many beside LMDB in one process (issue 18).  W1's keys are
// loaded into a netshm file table in /dev/shm (page size 256, --variant
// none, mutex or record locking) and into LMDB (lmdb_store.hpp); then
// --passes passes over W1's find_hit order, interleaved so that both stores
// see the same machine state: for each batch size B of 64, 8 and 1, LMDB with
// one read transaction per batch (mdb_get for each key, the value copied out)
// and netshm_find_many with batches of B; and netshm_find_into one key at a
// time.  Every pass checks the sum of the values it found.
//
// Prints JSON lines, system "batch", variant V: phase lmdb_B, find_many_B and
// find_into with ops_per_s the median of the passes; phase ratio_B with
// "ratio", the median of the passes' find_many_B ÷ lmdb_B.
//
// Usage: find_many_lmdb [--variant none|mutex|record] [--n N] [--passes P] [--batch B]
// (--batch: only batches of B, e.g. to count instructions per lookup with
// callgrind)
#include "../netshm_handle.hpp"
#include "lmdb_store.hpp"

#include <fcntl.h>

#include <map>
#include <utility>
#include <span>

namespace {

using bench::check_netshm;
using bench::failure;


netshm_locking locking_of(const std::string &variant)
{
    if (variant == "none")
        return NETSHM_NO_LOCKING;
    if (variant == "mutex")
        return NETSHM_MUTEX_LOCKING;
    if (variant == "record")
        return NETSHM_RECORD_LOCKING;
    throw failure("unknown variant " + variant + " (none, mutex or record)");
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

class comparison {
public:
    comparison(const bench::config &c, netshm_locking locking, std::vector<std::size_t> batch_sizes)
        : batch_sizes_(std::move(batch_sizes)), work_(bench::make_workload(c.n)), lmdb_(c, true),
          netshm_(NETSHM_TYPE_FILE, c.base + "-netshm", O_RDWR | O_CREAT | O_EXCL, locking)
    {
        for (std::int32_t key : work_.keys) {
            bench::value v = bench::value_of(key, 0);
            lmdb_.add(key, v);
            check_netshm(netshm_add(netshm_.table(), key, v.data(), v.size()), "netshm_add");
            expected_ += bench::value_sum(v.data());
        }
    }

    // One pass of each kind; rates_[phase] gets its lookups per second.
    void pass()
    {
        for (std::size_t b : batch_sizes_) {
            timed("lmdb_" + std::to_string(b), [&] { return lmdb_pass(b); });
            timed("find_many_" + std::to_string(b), [&] { return find_many_pass(b); });
        }
        // As each find_many pass, find_into follows an LMDB pass: right after
        // a netshm pass it would find much of the table still in the cache.
        if (lmdb_pass(1) != expected_)
            throw failure("lmdb: wrong sum of the values found");
        timed("find_into", [&] { return find_into_pass(); });
    }

    void report(const std::string &variant) const
    {
        auto line = [&](const std::string &phase) {
            bench::json_line l;
            l.text("system", "batch").text("variant", variant).text("phase", phase);
            return l;
        };
        for (const auto &[phase, rates] : rates_)
            line(phase).number("ops_per_s", median(rates)).number("passes", static_cast<double>(rates.size())).print();
        for (std::size_t b : batch_sizes_) {
            const std::vector<double> &many = rates_.at("find_many_" + std::to_string(b));
            const std::vector<double> &lmdb = rates_.at("lmdb_" + std::to_string(b));
            std::vector<double> ratios;
            for (std::size_t i = 0; i < many.size(); ++i)
                ratios.push_back(many[i] / lmdb[i]);
            line("ratio_" + std::to_string(b)).number("ratio", median(ratios)).print();
        }
    }

private:
    template <class Pass>
    void timed(const std::string &phase, Pass pass)
    {
        double t0 = bench::now_seconds();
        long long sum = pass();
        double seconds = bench::now_seconds() - t0;
        if (sum != expected_)
            throw failure(phase + ": wrong sum of the values found");
        rates_[phase].push_back(static_cast<double>(work_.order.size()) / seconds);
    }

    long long lmdb_pass(std::size_t batch)
    {
        std::vector<bench::value> out(batch);
        long long sum = 0;
        for (std::size_t first = 0; first < work_.order.size(); first += batch) {
            std::span<const std::int32_t> keys(work_.order.data() + first, std::min(batch, work_.order.size() - first));
            if (!lmdb_.find_batch(keys, out.data()))
                throw failure("lmdb: a key is missing");
            for (std::size_t i = 0; i < keys.size(); ++i)
                sum += bench::value_sum(out[i].data());
        }
        return sum;
    }

    long long find_many_pass(std::size_t batch)
    {
        std::vector<netshm_found> found(batch);
        std::vector<std::int32_t> values(batch * bench::value_words);
        long long sum = 0;
        for (std::size_t first = 0; first < work_.order.size(); first += batch) {
            std::size_t n = std::min(batch, work_.order.size() - first);
            check_netshm(netshm_find_many(netshm_.table(), work_.order.data() + first, n, found.data(), values.data(),
                                          values.size(), nullptr),
                         "netshm_find_many");
            for (std::size_t i = 0; i < n; ++i) {
                if (found[i].rc != NETSHM_OK || found[i].len != bench::value_words)
                    throw failure("find_many: a key is missing or its value has the wrong length");
                sum += bench::value_sum(values.data() + found[i].offset);
            }
        }
        return sum;
    }

    long long find_into_pass()
    {
        bench::value out{};
        std::size_t len = 0;
        long long sum = 0;
        for (std::int32_t key : work_.order) {
            check_netshm(netshm_find_into(netshm_.table(), key, out.data(), out.size(), &len), "netshm_find_into");
            if (len != bench::value_words)
                throw failure("find_into: a value has the wrong length");
            sum += bench::value_sum(out.data());
        }
        return sum;
    }

    std::vector<std::size_t> batch_sizes_;
    bench::workload work_;
    long long expected_ = 0;
    bench_lmdb::lmdb_store lmdb_;
    bench::netshm_handle netshm_;
    std::map<std::string, std::vector<double>> rates_;
};

} // namespace

int main(int argc, char **argv)
{
    bench::config c;
    c.variant = "none";
    int passes = 5;
    std::vector<std::size_t> batch_sizes{64, 8, 1};
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string option = argv[i], arg = argv[i + 1];
        if (option == "--variant")
            c.variant = arg;
        else if (option == "--n")
            c.n = std::strtoull(arg.c_str(), nullptr, 10);
        else if (option == "--passes")
            passes = std::atoi(arg.c_str());
        else if (option == "--batch" && std::strtoull(arg.c_str(), nullptr, 10) > 0)
            batch_sizes = {std::strtoull(arg.c_str(), nullptr, 10)};
        else {
            std::fprintf(stderr, "usage: %s [--variant none|mutex|record] [--n N] [--passes P] [--batch B]\n", argv[0]);
            return 2;
        }
    }
    c.base = c.dir + "/bench-find-many-" + c.variant + "-" + std::to_string(::getpid());
    std::vector<std::string> files{c.base, c.base + "-lock", c.base + "-netshm"};
    bench::remove_files(files);
    int status = 0;
    try {
        comparison run(c, locking_of(c.variant), batch_sizes);
        for (int p = 0; p < passes; ++p)
            run.pass();
        run.report(c.variant);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "find_many_lmdb %s: FAILED: %s\n", c.variant.c_str(), e.what());
        status = 1;
    }
    bench::remove_files(files);
    return status;
}
