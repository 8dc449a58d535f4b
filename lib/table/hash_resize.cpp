// Growing the hash table by an extent, and rehashing every bound cell into
// the larger table (doc/format.md, "Growth").
#include "table/hash_cells.hpp"
#include "table/scopes.hpp"

namespace netshm::core {

using namespace layout;

void table::resize_hash(header &h)
{
    // Its own operation for a recovery: the first pass is undone, the
    // second and third finished (doc/locking.md, "Recovery when a writer dies").
    intent record;
    mutate(
        [&] {
            record = intent_of(intent_op::resize_rehash, 0, h);
            return record;
        },
        [&] {
            add_hash_extent(h);
            rehash_into_spares(h);
            shared_pages pages{base_, words_per_page_};
            record.op = intent_op::resize_copy;
            record_next_pass(record);
            copy_spares(pages, h);
            record.cell_index = resize_spares_copied;
            record_next_pass(record);
            clear_spares(pages, h);
        });
}

void table::rehash_into_spares(const header &h)
{
    // Every bound cell moves through the spare words to its place in the
    // larger table; cells without a binding (ptr -1) are dropped.
    for_each_cell(h, cells_per_page_, [&](std::int32_t page, int word) {
        std::int32_t ptr = load(page, word + cell_ptr);
        if (ptr == ptr_never_used || ptr == ptr_unbound)
            return;
        std::int32_t key = load(page, word + cell_key);
        cell_ref target = probe(h, key, true);
        if (target.found)
            throw error(errc::corrupt, fmt::format("{}: page {}: key {} is in the hash table twice",
                                                   object_->name(), page, key));
        store(target.page, target.word + cell_spare_key, key);
        store(target.page, target.word + cell_spare_ptr, ptr);
    });
}

} // namespace netshm::core
