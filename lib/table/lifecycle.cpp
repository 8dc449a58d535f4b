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

#include <mutex>
#include <optional>
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

// Record locking, once no process creates the table: a writer of the
// table may be at work, and its descriptor shows torn counters until it
// ends.  What detection without a lock refuses, it detects again under the
// descriptor page's read lock of each page size the table may have.
unsigned detect_under_descriptor_lock(shm_object &object, unsigned requested, std::int32_t &descriptor_page)
{
    try {
        return detect_table(object, requested, descriptor_page);
    } catch (const error &unlocked) {
        if (unlocked.code() != errc::corrupt)
            throw;
        descriptor_candidates candidates = find_descriptor_candidates(object);
        for (unsigned pagesize : candidates.pagesizes) {
            page_locks locks(object.shared_locks(), true, static_cast<int>(pagesize / 4));
            page_lock_guard descriptor_lock(locks, candidates.page, lock_kind::read);
            try {
                return detect_table(object, requested, descriptor_page);
            } catch (const error &locked) {
                if (locked.code() != errc::corrupt)
                    throw;
            }
        }
        throw;
    }
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
    if (!object->writable())
        return join_mutex_reading(object, present);
    const std::string &name = object->name();
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
        writer = writer_mutex::of(state, object->fd(), true);
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
    return writer ? writer : writer_mutex::of(state, object->fd(), true);
}

std::shared_ptr<writer_mutex> table::join_mutex_reading(const std::shared_ptr<shm_object> &object,
                                                         std::optional<presence> &present)
{
    const std::string &name = object->name();
    lock_state &state = object->locks();
    // Setting up the lock area and recovering a dead writer's work store to
    // the object: a reader opened read-only can only join a clean one.
    std::shared_ptr<writer_mutex> reader;
    auto refuse_unless_set_up = [&] {
        const char *needed = "; a process with write access must open it with mutex locking first";
        if (object->size() < lock_area_end_bytes)
            throw error(errc::read_only, fmt::format("{}: opened read-only, the object holds no table set up for "
                                                     "mutex locking{}",
                                                     name, needed));
        reader = writer_mutex::of(state, object->fd(), false);
        lock_area &area = reader->area();
        if (!area.is_initialised())
            throw error(errc::read_only, fmt::format("{}: opened read-only, the table's lock area of mutex "
                                                     "locking is not set up{}",
                                                     name, needed));
        if (area.is_corrupt() || area.in_flight() || !lock_area::stable(area.read_begin()))
            throw error(errc::read_only, fmt::format("{}: opened read-only, the table holds a write that a dead "
                                                     "writer left unfinished, or is marked corrupt{} (it "
                                                     "recovers or refuses the table)",
                                                     name, needed));
    };
    present.emplace(presence::mutex_reading(object->shared_locks(), refuse_unless_set_up));
    return reader ? reader : writer_mutex::of(state, object->fd(), false);
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
    if (pagesize != 0 && !valid_pagesize(pagesize))
        throw_invalid(fmt::format("page size {} is invalid: it must be at least {}, at most {} and a "
                                  "multiple of 4",
                                  pagesize, min_pagesize, max_pagesize));
    const std::string &name = object->name();
    if (object->inherited())
        throw error(errc::forked, fmt::format("{}: the descriptor was inherited across fork; open the object "
                                              "again in this process",
                                              name));
    std::unique_lock<recursive_mutex> hold = object->locks().hold(limit);
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
            table::finish_record_mode_write(*object);
    } else if (locking == locking_method::mutex)
        writer = join_mutex_locking(object, pagesize, init, present);
    std::unique_ptr<table> managed;
    if (object->size() == 0 || init >= 0)
        managed = create(object, locking, pagesize, init, writer);
    // Another process created the table first, or there was one: open it.
    if (!managed)
        managed = locking == locking_method::record ? open_record_locking(object, pagesize)
                                                    : open_detected(object, locking, pagesize, writer);
    if (locking == locking_method::record && !object->writable())
        managed->presence_per_operation_ = true;
    else
        managed->presence_ = std::move(present);
    return managed;
}

std::unique_ptr<table> table::open_record_locking(const std::shared_ptr<shm_object> &object, unsigned requested)
{
    for (;;) {
        {
            initialisation_lock creators_done = initialisation_lock::shared(object->locks());
            std::int32_t descriptor_page = 0;
            unsigned pagesize = 0;
            try {
                pagesize = detect_under_descriptor_lock(*object, requested, descriptor_page);
            } catch (const error &e) {
                // Detection's message names an unfinished table.
                if (e.code() != errc::corrupt || !object->writable() || !holds_unfinished_table(*object))
                    throw;
            }
            if (pagesize != 0) {
                std::unique_ptr<table> opened(
                    new table(object, locking_method::record, static_cast<int>(pagesize / 4), nullptr));
                opened->open_existing(descriptor_page);
                return opened;
            }
        }
        // An unfinished table: create it, unless another process did first.
        if (std::unique_ptr<table> created = create(object, locking_method::record, requested, -1, nullptr))
            return created;
    }
}

std::unique_ptr<table> table::open_detected(const std::shared_ptr<shm_object> &object, locking_method locking,
                                            unsigned requested, const std::shared_ptr<writer_mutex> &writer)
{
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
            if (std::unique_ptr<table> created = create(object, locking, requested, -1, writer))
                return created;
            real_pagesize = detect_table(*object, requested, descriptor_page);
        }
    }
    std::unique_ptr<table> opened(new table(object, locking, static_cast<int>(real_pagesize / 4), writer));
    opened->open_existing(descriptor_page);
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
    if (reads_without_mutex()) {
        map_pages(static_cast<std::int64_t>(descriptor_page_) + 1);
        read_optimistically([&] { refresh_descriptor(); });
        return;
    }
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
