// Starting to manage an object: creating, re-initialising or opening a table.
#include "table/table.hpp"

#include "format/lock_area_layout.hpp"
#include "image/existing_table.hpp"
#include "image/new_table.hpp"
#include "image/unfinished_table.hpp"
#include "lock/initialisation_lock.hpp"
#include "recovery/crash_recovery.hpp"
#include "table/scopes.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <optional>
#include <unistd.h>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

// What earlier mutex-locking processes left in the lock area, before it is
// initialised afresh: a write left unfinished is recovered (with the page
// size of its record, or the table's), and a table marked corrupt refused.
void finish_earlier_writes(shm_object &object, lock_area &area, unsigned requested_pagesize)
{
    if (!area.is_initialised())
        return;
    if (area.is_corrupt())
        throw error(errc::corrupt, fmt::format("{}: marked corrupt after a writer died while it changed the "
                                               "table and its recovery found damage; re-initialise the table",
                                               object.name()));
    if (lock_area::stable(area.read_begin()) && !area.in_flight())
        return;
    std::int32_t descriptor_page = 0;
    unsigned pagesize = area.in_flight() ? 0 : detect_table(object, requested_pagesize, descriptor_page);
    recover_interrupted_write(object, area, pagesize);
}

// Record locking, before the table is looked at: a write a dead writer left
// unfinished (its intent in page 0, which may have half-written the
// descriptor: a hash resize) is recovered under the descriptor page's write
// lock, at the page size the record names.
void finish_record_mode_write(shm_object &object)
{
    if (!object.writable() || object.size() < lock_area_end_bytes)
        return;
    std::int32_t words[la_end] = {};
    if (::pread(object.fd(), words, sizeof words, 0) != static_cast<ssize_t>(sizeof words) ||
        words[la_intent_op] == static_cast<std::int32_t>(intent_op::none))
        return;
    // Never store into an object that holds no table (detect_table says why).
    if (!std::equal(std::begin(file_magic), std::end(file_magic), words))
        return;
    lock_area area(object.fd(), object.name());
    const std::int32_t pagesize = words[la_intent_pagesize];
    // A page size no table has is damage, which the recovery reports.
    const bool valid = pagesize >= static_cast<std::int32_t>(min_pagesize) &&
                       pagesize <= static_cast<std::int32_t>(max_pagesize) && pagesize % 4 == 0;
    page_locks locks(object.shared_locks(), true, valid ? pagesize / 4 : int{default_pagesize / 4});
    page_lock_guard descriptor_lock(locks, 1, lock_kind::write);
    if (area.in_flight())
        recover_interrupted_write(object, area, static_cast<unsigned>(pagesize));
}

bool holds_valid_table(const shm_object &object)
{
    std::int32_t descriptor_page = 0;
    try {
        detect_table(object, 0, descriptor_page);
        return true;
    } catch (const error &e) {
        if (e.code() != errc::corrupt && e.code() != errc::invalid)
            throw;
        return false;
    }
}

} // namespace

std::shared_ptr<writer_mutex> table::join_mutex_locking(const std::shared_ptr<shm_object> &object,
                                                        unsigned pagesize, long long &init,
                                                        std::optional<presence> &present)
{
    const std::string &name = object->name();
    // The mutex lives in the object: locking it stores there.
    if (!object->writable())
        throw error(errc::read_only, fmt::format("{}: mutex locking needs a descriptor open for writing", name));
    lock_state &state = object->locks();
    std::shared_ptr<writer_mutex> writer;
    bool written = false;
    // No other process has the object open with mutex or record locking
    // while this runs (the setup lock and the presence of the others).
    auto set_up_as_first = [&] {
        std::uint64_t size = object->size();
        // A table is written here, without an intent record, only where there
        // is no table to lose: an empty object, an unfinished table, or an
        // object re-initialised that holds no valid table.  A valid table
        // re-initialised is rewritten by manage under the mutex and an
        // intent record, which the next process finishes if this one dies.
        bool no_table = size == 0 || holds_unfinished_table(*object) || (init >= 0 && !holds_valid_table(*object));
        if (no_table) {
            // Page 0 must exist before the lock area can be mapped.
            unsigned fresh = pagesize != 0 ? pagesize
                             : size == 0   ? default_pagesize
                                           : pagesize_or_default(*object, size);
            int words_per_page = static_cast<int>(fresh / 4);
            refuse_foreign_content(*object);
            write_new_table_image(*object, words_per_page, init_hint(init, words_per_page, name), false);
            written = true;
        }
        std::int32_t descriptor_page = 0;
        if (!written && size < lock_area_end_bytes)
            detect_table(*object, pagesize, descriptor_page);  // no table fits: says why
        writer = writer_mutex::of(state, object->fd());
        if (!written && init < 0) {
            finish_earlier_writes(*object, writer->area(), pagesize);
            // Never write a lock area into an object that holds no table.
            detect_table(*object, pagesize, descriptor_page);
        }
        writer->area().initialise();
    };
    present.emplace(presence::mutex_locking(object->shared_locks(), set_up_as_first));
    if (written)
        init = -1;
    return writer ? writer : writer_mutex::of(state, object->fd());
}

table::table(std::shared_ptr<shm_object> object, locking_method locking, int words_per_page,
             std::shared_ptr<writer_mutex> writer)
    : object_(std::move(object)),
      writable_(object_->writable()),
      record_locking_(locking == locking_method::record),
      words_per_page_(words_per_page),
      cells_per_page_(cells_per_page(words_per_page)),
      locks_(object_->shared_locks(), locking == locking_method::record, words_per_page),
      generation_(fork_generation())
{
    if (writer)
        locks_.attach_writer(std::move(writer), [this](lock_area &area) {
            recover_interrupted_write(*object_, area, static_cast<unsigned>(words_per_page_) * 4);
        });
}

table::~table()
{
    // A child after fork holds none of the locks and must not touch the mutex.
    if (generation_ == fork_generation())
        locks_.end_all_groups();
}

std::unique_ptr<table> table::manage(std::shared_ptr<shm_object> object, locking_method locking,
                                     unsigned pagesize, long long init, lock_wait limit)
{
    if (pagesize != 0 && (pagesize < min_pagesize || pagesize % 4 != 0 || pagesize > max_pagesize))
        throw_invalid(fmt::format("page size {} is invalid: it must be at least {}, at most {} and a "
                                  "multiple of 4",
                                  pagesize, min_pagesize, max_pagesize));
    const std::string &name = object->name();
    if (object->inherited())
        throw error(errc::forked, fmt::format("{}: the descriptor was inherited across fork; open the object "
                                              "again in this process",
                                              name));
    std::unique_lock<std::recursive_timed_mutex> hold = object->locks().hold(limit);
    wait_limit_scope waits(object->locks(), limit);
    std::unique_ptr<table> managed = manage_held(object, locking, pagesize, init);
    managed->set_lock_timeout(limit);
    return managed;
}

std::unique_ptr<table> table::manage_held(const std::shared_ptr<shm_object> &object, locking_method locking,
                                          unsigned pagesize, long long init)
{
    // Who has the object open with which method; the returned table keeps it.
    std::optional<presence> present;
    std::shared_ptr<writer_mutex> writer;
    if (locking == locking_method::record) {
        present.emplace(presence::record_locking(object->shared_locks()));
        // A re-initialisation replaces whatever a dead writer left.
        if (init < 0)
            finish_record_mode_write(*object);
    } else if (locking == locking_method::mutex)
        writer = join_mutex_locking(object, pagesize, init, present);
    const unsigned requested = pagesize;
    if (object->size() == 0 || init >= 0)
        if (std::unique_ptr<table> created = create(object, locking, requested, init, writer)) {
            created->presence_ = std::move(present);
            return created;
        }
    // Another process created the table first, or there was one: open it.
    std::int32_t descriptor_page = 0;
    unsigned real_pagesize;
    try {
        real_pagesize = detect_table(*object, requested, descriptor_page);
    } catch (const error &e) {
        if (e.code() != errc::corrupt)
            throw;
        real_pagesize = detect_once_initialised(object, locking, requested, writer, descriptor_page);
        if (real_pagesize == 0) {
            // An unfinished table: create it, unless another process does first.
            if (std::unique_ptr<table> created = create(object, locking, requested, -1, writer)) {
                created->presence_ = std::move(present);
                return created;
            }
            real_pagesize = detect_table(*object, requested, descriptor_page);
        }
    }
    std::unique_ptr<table> opened(new table(object, locking, static_cast<int>(real_pagesize / 4), writer));
    opened->open_existing(descriptor_page);
    if (locking == locking_method::record && !object->writable())
        opened->presence_per_operation_ = true;
    else
        opened->presence_ = std::move(present);
    return opened;
}

std::unique_ptr<table> table::create(const std::shared_ptr<shm_object> &object, locking_method locking,
                                     unsigned requested, long long init, const std::shared_ptr<writer_mutex> &writer)
{
    std::uint64_t size = object->size();
    if (!object->writable())
        throw error(errc::read_only, fmt::format("{}: cannot {} a table in an object opened read-only",
                                                 object->name(), init < 0 ? "create" : "re-initialise"));
    unsigned pagesize = requested != 0 ? requested
                        : size == 0    ? default_pagesize
                                       : pagesize_or_default(*object, size);
    std::unique_ptr<table> created(new table(object, locking, static_cast<int>(pagesize / 4), writer));
    created->create_or_reinitialise(init);
    if (created->mapped_pages_ == 0)
        return nullptr;
    return created;
}

unsigned table::detect_once_initialised(const std::shared_ptr<shm_object> &object, locking_method locking,
                                        unsigned requested, const std::shared_ptr<writer_mutex> &writer,
                                        std::int32_t &descriptor_page)
{
    try {
        if (locking == locking_method::record) {
            initialisation_lock creators_done = initialisation_lock::shared(object->locks());
            return detect_table(*object, requested, descriptor_page);
        }
        if (locking == locking_method::mutex) {
            unsigned guess = requested != 0 ? requested : default_pagesize;
            page_locks creator_wait(object->shared_locks(), false, static_cast<int>(guess / 4));
            creator_wait.attach_writer(writer, [&](lock_area &area) {
                recover_interrupted_write(*object, area, guess);
            });
            page_lock_guard wait(creator_wait, 1, lock_kind::read);
            return detect_table(*object, requested, descriptor_page);
        }
        return detect_table(*object, requested, descriptor_page);
    } catch (const error &e) {
        // Detection's message names an unfinished table.  With mutex locking
        // the first process creates one at set-up.
        if (e.code() != errc::corrupt || !object->writable() || locking == locking_method::mutex ||
            !holds_unfinished_table(*object))
            throw;
        return 0;
    }
}

void table::create_or_reinitialise(long long init)
{
    std::optional<initialisation_lock> initialising;
    std::optional<page_lock_guard> descriptor_lock;
    if (locks_.record_locking())
        initialising.emplace(initialisation_lock::exclusive(locks_.state()));
    else
        descriptor_lock.emplace(locks_, descriptor_page_, lock_kind::write);
    // Under the lock: if another process created the table meanwhile, use it.
    if (init < 0 && object_->size() != 0 && !holds_unfinished_table(*object_))
        return;
    refuse_foreign_content(*object_);
    long long hint = init_hint(init, words_per_page_, object_->name());
    mutate(
        [&] {
            intent record;
            record.op = intent_op::reinitialise;
            record.reinit_hint = hint;
            record.pagesize = words_per_page_ * 4;
            return record;
        },
        [&] { write_new_table(hint); });
}

void table::open_existing(std::int32_t descriptor_page)
{
    descriptor_page_ = descriptor_page;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    map_pages(static_cast<std::int64_t>(descriptor_page_) + 1);
    // A write left unfinished is refused by reads and writes, not here:
    // check() reports it (a read-only process cannot recover it).
    refresh_descriptor();
}

void table::write_new_table(long long hint)
{
    std::int64_t total = write_new_table_image(*object_, words_per_page_, hint, locks_.writer() != nullptr);
    descriptor_page_ = 1;
    map_pages(total);
}

} // namespace netshm::core
