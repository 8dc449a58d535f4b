// Reads of a table that can never hold the writer mutex (mutex locking on a
// descriptor open read-only): find_all, find_blocks, iter, iter_keys and dump
// first copy what they read into private memory, optimistically against the
// sequence counter (read.cpp), and run their callbacks on that validated
// copy only, never on shared memory a writer may change under them.
#include "table/answers.hpp"
#include "table/scopes.hpp"

namespace netshm::core {

using namespace layout;

void table::copy_bindings(std::optional<std::int32_t> only_key, bool with_values, private_copy &copy)
{
    read_optimistically([&] {
        copy.bindings.clear();
        const header &h = refresh();
        copy.length = h.bindings;
        std::int64_t visited = 0;
        auto copy_chain = [&](std::int32_t key, std::int32_t page) {
            while (page != 0) {
                // All chains together have no more bindings than the table pages.
                if (++visited > h.total_pages)
                    corrupt(fmt::format("more bindings than pages: a chain of bindings of key {} has a cycle", key));
                binding b = read_binding(h, page, key);
                copy.bindings.push_back({key, {}});
                if (with_values) {
                    copy_value_atomically(b);
                    copy.bindings.back().value = read_copy_;
                }
                if (!with_values && !only_key)
                    return;
                page = b.older;
            }
        };
        if (only_key) {
            copy_chain(*only_key, bound_page(h, probe(h, *only_key, false)));
            return;
        }
        for_each_cell(h, [&](std::int32_t cell_page, int cell_word) {
            cell_ref cell{cell_page, cell_word, true, load(cell_page, cell_word + cell_ptr), -1};
            if (std::int32_t page = bound_page(h, cell); page != 0)
                copy_chain(load(cell.page, cell.word + cell_key), page);
        });
    });
}

int table::visit_copy(const private_copy &copy, function_ref<int(std::int32_t, const std::vector<std::int32_t> &)> fn)
{
    for (const private_copy::entry &e : copy.bindings) {
        int answer;
        {
            callback_scope in_callback(*this);
            answer = fn(e.key, e.value);
        }
        if (answer < 0)
            return answer;
        if (answer == answer_break)
            return 0;
    }
    return 0;
}

} // namespace netshm::core
