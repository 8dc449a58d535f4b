// What part of a table a broken rule of the format concerns: the kinds of
// problem the integrity check reports (the numbers are those of the C ABI's
// netshm_problem_kind).
#pragma once

namespace netshm::core {

enum class problem_kind : int {
    master = 1,
    descriptor = 2,
    object_size = 3,
    extent = 4,
    hash_cell = 5,
    probe = 6,
    content_page = 7,
    follow_up = 8,
    binding_chain = 9,
    free_list = 10,
    page_shared = 11,
    page_lost = 12,
    count = 13,
    tail = 14,
};

} // namespace netshm::core
