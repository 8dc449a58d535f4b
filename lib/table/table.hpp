// shm_table: a Netshm hash table in a shared-memory object.
//
// Every value read from the object is untrusted: each word is read once,
// validated, then used, and a violation throws errc::corrupt naming the page.
#pragma once

#include "format/cells.hpp"
#include "format/descriptor.hpp"
#include "format/layout.hpp"
#include "image/integrity.hpp"
#include "lock/page_locks.hpp"
#include "lock/presence.hpp"
#include "recovery/repair.hpp"
#include "shm/mapping.hpp"
#include "shm/shm_object.hpp"
#include "util/function_ref.hpp"
#include "util/page_list.hpp"
#include "util/shared_words.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace netshm::core {

enum class locking_method { none, record, mutex };

class table {
public:
    // pagesize 0: the existing table's own, or the default for a new one.
    // init < 0: keep an existing table; >= 0: (re-)initialise for ~init keys.
    // Each of manage's lock waits lasts at most `limit` (0: for ever), then
    // errc::timed_out; the table's lock timeout starts as `limit`.
    static std::unique_ptr<table> manage(std::shared_ptr<shm_object> object, locking_method locking,
                                         unsigned pagesize, long long init, lock_wait limit);
    ~table();
    table(const table &) = delete;
    table &operator=(const table &) = delete;

#ifdef NETSHM_TESTING_HOOKS
    // Grow and replace exactly as OCamlnet does (tests compare files byte for
    // byte); only in the tests' build of the engine (util/store_hook.hpp).
    void mimic_ocamlnet() noexcept { mimic_ocamlnet_ = true; }
#endif

    // The longest wait of each lock an operation takes (0: for ever); a wait
    // that runs out is errc::timed_out, with no lock taken by it kept.
    void set_lock_timeout(lock_wait limit) noexcept { lock_timeout_.store(limit.count(), std::memory_order_relaxed); }
    lock_wait lock_timeout() const noexcept { return lock_wait(lock_timeout_.load(std::memory_order_relaxed)); }

    void add(std::int32_t key, std::span<const std::int32_t> value);
    void replace(std::int32_t key, std::span<const std::int32_t> value);
    void remove(std::int32_t key);
    bool mem(std::int32_t key);
    // Copies the newest binding to sink(length), which returns the destination
    // (or nullptr to skip the copy).  False if the key is unbound.
    bool find(std::int32_t key, function_ref<std::int32_t *(std::size_t)> sink);
    std::int64_t length();

    // find_many (doc/locking.md, "Batch reads"): the newest value of each
    // key, copied one after another into `values` where it fits, the words
    // of all of them returned.  Keys go in chunks of up to find_many_chunk,
    // each chunk one snapshot of the table; report(first, slots) hands over
    // the slots of keys[first ..] once their chunk is done.
    struct found_slot {
        std::size_t offset;
        std::size_t length;
        bool bound;
    };
    static constexpr std::size_t find_many_chunk = 64;
    std::size_t find_many(std::span<const std::int32_t> keys, std::span<std::int32_t> values,
                          function_ref<void(std::size_t, std::span<const found_slot>)> report);

    // Callback operations return 0 or the callback's negative answer.
    int find_all(std::int32_t key, function_ref<int(const std::int32_t *, std::size_t)> fn);
    int iter(function_ref<int(std::int32_t, const std::int32_t *, std::size_t)> fn);
    int iter_keys(function_ref<int(std::int32_t)> fn);
    int find_blocks(std::int32_t key, function_ref<int(const std::int32_t *, std::size_t)> fn);
    int write_blocks(bool announce_remove, std::int32_t key,
                     function_ref<int(std::int32_t *, std::size_t)> fn);

    // A write group takes the descriptor page's write lock up front, so that
    // read-modify-write groups of several processes serialize.
    void group_begin(bool write = false);
    void group_end();
    // Inside a group begun in this process (an inherited table never is).
    bool in_group() const noexcept { return generation_ == fork_generation() && locks_.group_depth() > 0; }
    // Inside a callback of one of this handle's own operations, which still
    // uses the handle when the callback returns: closing it then would free
    // what the operation uses.  (Other handles of the object may close: each
    // operation uses only its own handle, and the shared state is shared.)
    bool in_callback() const noexcept { return own_callbacks_.load(std::memory_order_relaxed) > 0; }

    void dump(int fd);

    // Verifies the whole object under the descriptor page's read lock,
    // re-reading everything (nothing of what manage or earlier calls cached).
    integrity_report check();
    // check()'s statistics; errc::corrupt naming the first problem if any.
    table_stats stat();
    // Rebuilds the index, the counters and the free list from the content
    // pages under the exclusive lock (recovery/repair.hpp says what is kept).
    repair_report repair();

    struct memory_view {
        std::int32_t *base;
        std::size_t pages;
        std::size_t words_per_page;
    };
    memory_view memory();

private:
    class operation;
    class callback_scope;
    friend class operation;
    friend class callback_scope;

    table(std::shared_ptr<shm_object> object, locking_method locking, int words_per_page,
          std::shared_ptr<writer_mutex> writer);

    // manage
    // manage once the object's mutex is held and its wait limit set.
    static std::unique_ptr<table> manage_held(const std::shared_ptr<shm_object> &object, locking_method locking,
                                              unsigned pagesize, long long init);
    // Takes this process's mutex-locking presence into `present`; the first
    // such process sets up the lock area (and writes the table first in an
    // empty object, or if init >= 0, then sets init to -1).
    static std::shared_ptr<writer_mutex> join_mutex_locking(const std::shared_ptr<shm_object> &object,
                                                            unsigned pagesize, long long &init,
                                                            std::optional<presence> &present);
    // The same for an object opened read-only: joins only a lock area that
    // earlier processes set up and left clean (else errc::read_only), and
    // returns a writer mutex mapped read-only, which is never held.
    static std::shared_ptr<writer_mutex> join_mutex_reading(const std::shared_ptr<shm_object> &object,
                                                            std::optional<presence> &present);
    // A table created or re-initialised in `object` (the page size asked
    // for, or the existing table's, or the default); nullptr if init < 0 and
    // another process created a table there first.
    static std::unique_ptr<table> create(const std::shared_ptr<shm_object> &object, locking_method locking,
                                         unsigned requested, long long init, const std::shared_ptr<writer_mutex> &writer);
    // Record locking, the table of an object that is not empty: detected
    // and opened while no process creates or re-initialises it (the
    // initialisation lock, shared), its descriptor read under the lock of
    // any writer that may be changing it.  An unfinished table is created,
    // unless another process does first.
    static std::unique_ptr<table> open_record_locking(const std::shared_ptr<shm_object> &object, unsigned requested);
    // The same with mutex locking or none: detected without a lock first.
    static std::unique_ptr<table> open_detected(const std::shared_ptr<shm_object> &object, locking_method locking,
                                                unsigned requested, const std::shared_ptr<writer_mutex> &writer);
    // Detection found no valid table: another process may be creating or
    // re-initialising one, so detect again once it is done (mutex locking:
    // the writer mutex, which also recovers a re-initialisation whose writer
    // died).  0 if the object holds an unfinished table that this process
    // may create.
    static unsigned detect_once_initialised(const std::shared_ptr<shm_object> &object, locking_method locking,
                                            unsigned requested, const std::shared_ptr<writer_mutex> &writer,
                                            std::int32_t &descriptor_page);
    // With record locking under the initialisation lock, else under the
    // descriptor page's write lock (the writer mutex, with an intent record).
    void create_or_reinitialise(long long init);
    void open_existing(std::int32_t descriptor_page);
    // A new table for about `hint` keys (init_hint), and its mapping.
    void write_new_table(long long hint);
    // Undoes a mutation that failed between its intent and its end, as a
    // recovery from its death would (mutex locking).
    void undo_failed_mutation(lock_area &area) noexcept;

    // storage
    // Throws errc::corrupt: "<object name>: <message>".
    [[noreturn]] void corrupt(std::string_view message) const;
    void check_writable(const char *what) const;
    // The validated header, valid until the next refresh(); mutations copy it.
    // With record locking, a write a dead writer left unfinished is
    // errc::corrupt (refuse_pending_write).
    const header &refresh()
    {
        if (record_locking_ && load(0, layout::la_intent_op) != static_cast<std::int32_t>(layout::intent_op::none))
            refuse_pending_write();
        return refresh_descriptor();
    }
    // refresh() whatever page 0 says: opening a table that check() may
    // still examine.
    const header &refresh_descriptor();
    void map_pages(std::int64_t pages);
    void grow_object(const header &h, std::int64_t new_total);
    // The pages an allocation will take, planned and checked before anything
    // is stored (the intent record names them): `growth` pages appended to
    // the object first, pushed on the free list in increasing order, then
    // `pages` popped off its head, leaving `free_head_after` there.  The
    // object's space for the growth is reserved while planning.
    struct allocation {
        std::int64_t growth;
        page_list pages;
        std::int32_t free_head_after;
    };
    allocation plan_allocation(const header &h, std::int64_t count);
    // How many pages to append when fewer than `count` are free, the object
    // grown and mapped for them already (beyond the table until appended):
    // the geometric step, or only the missing pages if the file system has
    // no room for the step.  Before the intent record, which names the pages.
    std::int64_t reserve_growth(const header &h, std::int64_t count);
    // Appends the `growth` pages reserve_growth made room for to the table
    // and pushes them on the free list.
    void append_free_pages(header &h, std::int64_t growth);
    // Grows the object as planned and takes the planned pages off the free
    // list (inline: the common case is two stores).
    void allocate(header &h, const allocation &plan)
    {
        if (plan.growth > 0)
            append_free_pages(h, plan.growth);
        h.free_head = plan.free_head_after;
        h.free_count -= static_cast<std::int64_t>(plan.pages.size());
        store(descriptor_page_, layout::d_free_head, h.free_head);
        store(descriptor_page_, layout::d_free_count, static_cast<std::int32_t>(h.free_count));
    }
    void free_binding_pages(header &h, const page_list &pages);

    // hash index
    struct cell_ref {
        std::int32_t page;
        int word;  // the cell's first word in its page
        bool found;
        std::int32_t ptr;  // as read while probing
        std::int64_t index; // in the whole index (for an intent record); -1 when not probed
    };
    static cell_ref cell_at(const header &h, std::int64_t index) noexcept
    {
        cell_place place = locate_cell(h, index);
        return {place.page, place.word, false, 0, index};
    }
    // The cell a probe visits first, as the header of one structure
    // validation (the count in structure_validations_; 0: none) places it.
    struct first_cell {
        cell_ref cell;
        std::uint64_t validation;
    };
    // `first`, from prefetch_probe for the same key, is used while refresh()
    // has validated no other structure since: not computed again (about 40
    // instructions a find, callgrind).
    cell_ref probe(const header &h, std::int32_t key, bool spare, first_cell first = {}) const;
    // Starts loading the cell a probe for key visits first, as the header
    // last validated places it: its miss overlaps the work before the probe
    // (with record locking, the lock's system call).
    first_cell prefetch_probe(std::int32_t key) const noexcept;
    cell_ref probe_for_addition(header &h, std::int32_t key, bool &claims_cell);
    void add_hash_extent(header &h);
    // A hash resize, an operation of its own: a new extent, then every bound
    // cell rehashed into the spare words, copied over the primaries, and the
    // spares zeroed, in three passes.
    void resize_hash(header &h);
    void rehash_into_spares(const header &h);
    // The newest binding's first page (validated), or 0 if the key is unbound.
    std::int32_t bound_page(const header &h, const cell_ref &cell) const
    {
        if (!cell.found || cell.ptr == layout::ptr_unbound || cell.ptr == layout::ptr_never_used)
            return 0;
        check_content_page(h, cell.ptr, "hash cell pointer", cell.page);
        return cell.ptr;
    }

    // bindings
    struct binding {
        std::int32_t first_page;
        std::int32_t older;
        std::int64_t length;
        page_list pages;  // every page of the value, in order
    };
    // A binding's first page, validated: its next page (0 when the value
    // fits in it), older binding and value length.
    struct binding_head {
        std::int32_t next;
        std::int32_t older;
        std::int64_t length;
    };
    // Inline for a value that fits in its first page, the common case; any
    // other, or any doubt, read_head_checked decides (and names the damage).
    binding_head read_head(const header &h, std::int32_t page, std::int32_t key) const
    {
        const std::int32_t *words = page_words(page);
        binding_head head{shared::load(words + layout::c_next_page), shared::load(words + layout::c_older_binding),
                          shared::load(words + layout::c_value_length)};
        if (shared::load(words + layout::c_magic) == layout::content_magic &&
            shared::load(words + layout::c_key) == key && shared::load(words + layout::c_value_offset) == 0 &&
            head.next == 0 && head.length >= 0 && head.length <= words_per_page_ - layout::c_data &&
            (head.older == 0 || h.is_data_page(head.older)))
            return head;
        return read_head_checked(h, page, key);
    }
    binding_head read_head_checked(const header &h, std::int32_t page, std::int32_t key) const;
    // Whether a validated head's value lies in its first page alone: then
    // read_head has validated all of it, and no list of pages is needed.
    bool in_first_page(const binding_head &head) const noexcept
    {
        return head.length <= words_per_page_ - layout::c_data;
    }
    binding read_binding(const header &h, std::int32_t page, std::int32_t key) const;
    // Writes the value into the allocated `pages`; returns the first.
    std::int32_t write_binding(std::int32_t key, std::span<const std::int32_t> value, std::int32_t older,
                               const page_list &pages);
    void copy_value(const binding &b, std::int32_t *out) const;
    // Calls fn(fragment, length) for each fragment; returns the first answer
    // other than answer_continue, or answer_continue.
    int visit_fragments(const binding &b, function_ref<int(std::int32_t *, std::size_t)> fn) const;

    // iter, under a lock that keeps writers out: the value of the binding at
    // `page`, in the mapping itself when it lies in its first page (a callback
    // may hold it: the mapping is retired, not unmapped, while callbacks run),
    // else copied into `spill`; and the older binding's page.
    struct value_view {
        const std::int32_t *words;
        std::size_t length;
        std::int32_t older;
    };
    value_view view_value(const header &h, std::int32_t page, std::int32_t key,
                          std::vector<std::int32_t> &spill) const
    {
        binding_head head = read_head(h, page, key);
        if (in_first_page(head))
            return {page_words(page) + layout::c_data, static_cast<std::size_t>(head.length), head.older};
        return spill_value(h, page, key, spill);
    }
    value_view spill_value(const header &h, std::int32_t page, std::int32_t key,
                           std::vector<std::int32_t> &spill) const;

    // Read-locks each binding of key in turn (OCamlnet's hand-over) and calls
    // visit with it as a callback; visit answers as a block callback does.
    int walk_bindings(std::int32_t key, function_ref<int(const binding &)> visit);

    // private copies (private_copy.cpp): reads without the writer mutex
    struct private_copy {
        struct entry {
            std::int32_t key;
            std::vector<std::int32_t> value;
        };
        std::int64_t length = 0;  // the descriptor's binding count
        std::vector<entry> bindings;
    };
    // Copies, in one optimistic read, the bindings of `only_key` (newest
    // first) or of every key (with values: all of them; without: each key
    // once), and the binding count.
    void copy_bindings(std::optional<std::int32_t> only_key, bool with_values, private_copy &copy);
    // Calls fn(key, value) on each copied binding as a callback until it
    // answers a negative answer (returned) or answer_break (then 0); fn
    // refuses the answers its operation does not allow.
    // check() on a copy of the object taken without the writer mutex.
    integrity_report check_private_copy();
    int visit_copied_bindings(std::int32_t key, function_ref<int(const std::vector<std::int32_t> &)> fn);
    int visit_copy(const private_copy &copy, function_ref<int(std::int32_t, const std::vector<std::int32_t> &)> fn);

    void add_locked(header &h, std::int32_t key, std::span<const std::int32_t> value);
    void remove_locked(header &h, std::int32_t key);

    // intent records (mutex locking, lib/table/write.cpp)
    // Runs `stores`, the stores of one mutation, under the intent record
    // make_record() returns: recorded before the first store and cleared
    // after the last with mutex and record locking (doc/locking.md,
    // "Writers"), undone at once if `stores` throws in between, as a
    // recovery from its death would.  Without locking nothing is recorded.
    template <class MakeRecord, class Stores>
    void mutate(MakeRecord make_record, Stores stores);
    // Where mutate records intents: the writer mutex's lock area, or with
    // record locking (a writable descriptor) a lock_area of its own over the
    // same words of page 0, made on first use, whose mutex words stay unused
    // (doc/locking.md, "Crash safety with record locking").  Null otherwise.
    lock_area *intent_area()
    {
        if (writer_mutex *writer = locks_.writer())
            return &writer->area();
        if (record_intents_ || !record_locking_)
            return record_intents_.get();
        return make_record_intent_area();
    }
    lock_area *make_record_intent_area();
    // Record locking, before a table is looked at (manage): a write a dead
    // writer left unfinished (its intent in page 0, which may have
    // half-written the descriptor: a hash resize) is recovered under the
    // descriptor page's write lock, at the page size the record names.
    // Nothing for an object this process cannot write or that holds no
    // table, nor for a record naming no valid page size (the first writer's
    // recover_pending_write reports that damage).
    static void finish_record_mode_write(shm_object &object);
    // Record locking, a writer under its descriptor page's write lock:
    // recovers a write that a dead writer left unfinished, when this
    // table's page 0 shows one.
    void recover_pending_write();
    // Record locking: a reader finding an intent recorded fails cleanly
    // instead of reading what a dead writer left half done.
    [[noreturn]] void refuse_pending_write() const;
    // refresh() for a mutation, under the descriptor page's write lock:
    // recovers a pending write first.
    const header &refresh_for_write()
    {
        if (record_locking_)
            recover_pending_write();
        return refresh();
    }
    // Records `record` again under mutate: the next pass of a resize.
    void record_next_pass(const intent &record) noexcept;
    // An intent of `op` on `key` with the descriptor snapshot of `h`, and
    // what the mutation changes: the hash cell it changes in place (as it is
    // now), the pages it allocates, the binding it frees (each if not null).
    intent intent_of(layout::intent_op op, std::int32_t key, const header &h, const cell_ref *cell = nullptr,
                     const allocation *plan = nullptr, const binding *freed = nullptr) const;
    void record_cell(intent &record, const cell_ref &cell) const;

    // word access
    std::int32_t *page_words(std::int32_t page) const { return base_ + static_cast<std::int64_t>(page) * words_per_page_; }
    std::int32_t load(std::int32_t page, int word) const { return shared::load(page_words(page) + word); }
    void store(std::int32_t page, int word, std::int32_t value) { shared::store(page_words(page) + word, value); }
    // A store that makes what was stored before it part of the table: a
    // process killed after it has stored all of that (program order).
    void publish(std::int32_t page, int word, std::int32_t value) { shared::publish(page_words(page) + word, value); }
    // Inline: every find checks a page or two (the error is out of line).
    void check_content_page(const header &h, std::int32_t page, const char *what, std::int32_t referrer) const
    {
        if (!h.is_data_page(page))
            outside_content_pages(page, what, referrer);
    }
    [[noreturn]] void outside_content_pages(std::int32_t page, const char *what, std::int32_t referrer) const;
    // Copies `count` words of a value into shared memory; one atomic store a
    // word with mutex locking.
    void store_words(std::int32_t *target, const std::int32_t *source, std::size_t count) noexcept;

    // optimistic readers (mutex locking)
    // Whether find, mem and length may read without the writer mutex: mutex
    // locking, and this process does not hold the mutex already (a group, a
    // callback), whose own changes would keep the counter odd.
    bool reads_optimistically() const noexcept;
    // Whether this table can never hold the writer mutex (mutex locking on
    // a descriptor open read-only): every read it makes is optimistic.
    bool reads_without_mutex() const noexcept;
    // Runs `read` against the sequence counter until it saw no writer at
    // work; false after too many attempts (the caller takes the mutex).
    // `read` must store nothing shared and hand nothing to the caller.
    // Without the mutex to fall back on, it never returns false: it keeps
    // trying, pausing, until the lock timeout (errc::timed_out) or, with
    // none, a bounded number of attempts (errc::busy).
    bool read_optimistically(function_ref<void()> read);
    // Copies a value into read_copy_ with atomic loads.
    void copy_value_atomically(const binding &b);
    // find, mem and length without the mutex; nullopt: take the mutex.
    // Whether key is bound, its value copied to read_copy_ if `copy`.
    std::optional<bool> optimistic_lookup(std::int32_t key, bool copy, first_cell first);
    std::optional<bool> optimistic_find(std::int32_t key, function_ref<std::int32_t *(std::size_t)> sink,
                                        first_cell first);
    std::optional<std::int64_t> optimistic_length();
    // One chunk of find_many against the validated header `h`, its values
    // copied from `offset` on with atomic loads if `racy` (an optimistic
    // read); returns the offset after them.
    std::size_t find_chunk(const header &h, std::span<const std::int32_t> keys, found_slot *slots,
                           std::span<std::int32_t> values, std::size_t offset, bool racy) const;

    std::shared_ptr<shm_object> object_;
    bool writable_;
    bool record_locking_;
    std::unique_ptr<lock_area> record_intents_;
    int words_per_page_;
    int cells_per_page_;
    std::int32_t descriptor_page_ = 1;
    page_locks locks_;
    mapping mapping_;
    std::int32_t *base_ = nullptr;
    std::int64_t mapped_pages_ = 0;
    // Mappings replaced while callbacks may still hold pointers into them.
    std::vector<mapping> retired_;
    // The header refresh() last validated and the descriptor words it was
    // read from: while they stay the same nothing is checked again, and while
    // only the counters change only they are.  A new mapping invalidates it.
    descriptor_words validated_words_{};
    header validated_{};
    bool header_validated_ = false;
    // Structures refresh() validated: a first_cell of another is stale.
    std::uint64_t structure_validations_ = 0;
    std::uint64_t generation_;
    // Callbacks of this handle's operations running now (lock_state's
    // callbacks_active counts those of every handle of the object).  Changed
    // under the object's mutex; atomic so that another thread may read it.
    std::atomic<int> own_callbacks_{0};
    // set_lock_timeout's; atomic so that any thread may set it.
    std::atomic<lock_wait::rep> lock_timeout_{0};
#ifdef NETSHM_TESTING_HOOKS
    bool mimic_ocamlnet_ = false;
#else
    static constexpr bool mimic_ocamlnet_ = false;
#endif
    // An optimistic reader's copy, handed to the caller once validated.
    std::vector<std::int32_t> read_copy_;
    // This process's presence with its locking method, for the handle's life;
    // with record locking on a read-only descriptor only while an operation
    // or a group runs (operations_running_ counts them, nested ones too): a
    // reader that cannot write, left idle, keeps nobody from mutex locking.
    std::optional<presence> presence_;
    bool presence_per_operation_ = false;
    int operations_running_ = 0;
};

} // namespace netshm::core
