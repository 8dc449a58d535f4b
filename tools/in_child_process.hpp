// Runs a function in a child process and brings back the text it returns, or
// how the child died: for work on objects that another program may truncate
// meanwhile, where touching a mapped page beyond the new end kills the
// process (SIGBUS) and nothing in the library can prevent it.
#pragma once

#include <functional>
#include <string>

namespace netshm_tool {

struct child_outcome {
    // What the function returned, if the child finished.
    std::string text;
    // Empty when it finished; otherwise why not: "was killed by SIGBUS",
    // "exited with status 1".
    std::string failure;
};

// The function runs with this process's state copied: call it before any
// thread starts.  An exception it throws ends the child with status 1.
child_outcome in_child_process(const std::function<std::string()> &work);

} // namespace netshm_tool
