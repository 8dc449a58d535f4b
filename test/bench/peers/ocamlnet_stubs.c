/* C helpers of ocamlnet_w1.ml: the monotonic clock the C++ programs use
 * (OCaml's Unix library has none) and the memory a file really holds
 * (Unix.stat has no st_blocks). */
#define _POSIX_C_SOURCE 200809L

#include <caml/alloc.h>
#include <caml/mlvalues.h>

#include <sys/stat.h>
#include <time.h>

value bench_monotonic_seconds(value unit);
value bench_allocated_bytes(value path);

value bench_monotonic_seconds(value unit)
{
    struct timespec ts;
    (void)unit;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return caml_copy_double((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

/* Bytes allocated to the file (st_blocks * 512), or -1 if stat fails. */
value bench_allocated_bytes(value path)
{
    struct stat st;
    if (stat(String_val(path), &st) != 0)
        return caml_copy_double(-1.0);
    return caml_copy_double((double)st.st_blocks * 512.0);
}
