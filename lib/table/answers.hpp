// What user callbacks answer.  0 goes on; a negative answer aborts the
// operation (every lock released) and is returned to the caller unchanged.
#pragma once

namespace netshm::core {

enum block_answer : int {
    answer_continue = 0,
    answer_next = 1,       // block callbacks: skip to the next binding
    answer_break = 2,      // block callbacks: stop
    answer_remove = 3,     // write_blocks: remove this binding when it ends
};

} // namespace netshm::core
