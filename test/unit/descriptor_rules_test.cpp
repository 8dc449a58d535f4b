// Opening a table and checking it apply one rule set to the descriptor page
// (lib/format/descriptor.hpp): every table of the fuzz corpus, its descriptor
// mutated one word at a time, is refused by netshm_manage exactly when the
// integrity check finds the descriptor broken, and with the same message.
#include "image/detect_pagesize.hpp"
#include "image/integrity.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace {

namespace core = netshm::core;
namespace fs = std::filesystem;

// The fuzz target's input starts with control bytes (test/fuzz/fuzz_table_file.cpp).
constexpr std::size_t control_bytes = 4;
constexpr int descriptor_page = 1;
constexpr int descriptor_words_used = 8 + 2 * 16;

struct corpus_table {
    std::string name;
    std::vector<std::int32_t> words;
    unsigned pagesize;
};

std::vector<corpus_table> corpus_tables()
{
    const char *dir = std::getenv("NETSHM_TABLE_CORPUS");
    REQUIRE(dir != nullptr);
    std::vector<corpus_table> tables;
    for (const fs::directory_entry &entry : fs::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (bytes.size() <= control_bytes)
            continue;
        std::vector<std::int32_t> words((bytes.size() - control_bytes) / 4);
        std::memcpy(words.data(), bytes.data() + control_bytes, words.size() * 4);
        try {
            unsigned pagesize = core::detect_pagesize(words.data(), words.size() * 4, 0, entry.path().string());
            tables.push_back({entry.path().filename().string(), std::move(words), pagesize});
        } catch (const std::exception &) {
            // Not a table: nothing of a descriptor to mutate.
        }
    }
    return tables;
}

// The values a mutated word takes: the edges of every rule.
std::vector<std::int32_t> candidate_values(const corpus_table &t, std::int32_t original)
{
    const std::int32_t *d = t.words.data() + descriptor_page * (t.pagesize / 4);
    const std::int32_t total = d[1];
    const std::int32_t hash_size = d[2];
    std::set<std::int32_t> values{0, 1, 2, 3, -1, INT32_MAX, INT32_MIN, descriptor_page, total - 2, total - 1,
                                  total, total + 1, hash_size - 1, hash_size, hash_size + 1, d[8], d[8] + d[9],
                                  original - 1, original + 1, static_cast<std::int32_t>(t.pagesize / 16 - 1)};
    values.erase(original);
    return {values.begin(), values.end()};
}

// The check's problems with the descriptor's rules: only those rules give them.
bool rule_kind(const core::problem &p)
{
    return p.kind == core::problem_kind::descriptor || p.kind == core::problem_kind::extent ||
           p.kind == core::problem_kind::object_size;
}

} // namespace

TEST_CASE("descriptor rules: manage and check agree on every mutated descriptor of the corpus",
          "[descriptor][check]")
{
    const std::vector<corpus_table> tables = corpus_tables();
    REQUIRE(tables.size() >= 5);
    netshm_test::scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    std::size_t refused = 0;
    std::size_t accepted = 0;
    for (const corpus_table &t : tables) {
        const std::size_t descriptor = descriptor_page * (t.pagesize / 4);
        for (int w = 0; w < descriptor_words_used; ++w) {
            for (std::int32_t value : candidate_values(t, t.words[descriptor + static_cast<std::size_t>(w)])) {
                std::vector<std::int32_t> image = t.words;
                image[descriptor + static_cast<std::size_t>(w)] = value;
                INFO(t.name << ": descriptor word " << w << " set to " << value);
                {
                    std::ofstream out(path, std::ios::binary | std::ios::trunc);
                    out.write(reinterpret_cast<const char *>(image.data()),
                              static_cast<std::streamsize>(image.size() * 4));
                }
                const core::integrity_report report =
                    core::check_image(image.data(), image.size() * 4, static_cast<int>(t.pagesize / 4),
                                      descriptor_page);
                netshm_test::descr_ptr descr = netshm_test::open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
                netshm_table *table = nullptr;
                const int rc = netshm_manage(descr.get(), NETSHM_NO_LOCKING, t.pagesize, -1, &table);
                if (rc == NETSHM_OK) {
                    ++accepted;
                    netshm_table_close(table);
                    for (const core::problem &p : report.problems) {
                        INFO("check: " << p.message);
                        CHECK_FALSE(rule_kind(p));
                    }
                    continue;
                }
                ++refused;
                REQUIRE(rc == NETSHM_ECORRUPT);
                // "<path>: page 1: ...", the message of one of the check's problems.
                const std::string message = netshm_last_error();
                INFO("manage: " << message);
                const bool same = std::any_of(report.problems.begin(), report.problems.end(),
                                              [&](const core::problem &p) {
                                                  return message == path + ": " + p.message;
                                              });
                CHECK(same);
            }
        }
    }
    // Both verdicts occur, often: the mutations reach every rule.
    CHECK(refused > 200);
    CHECK(accepted > 200);
}
