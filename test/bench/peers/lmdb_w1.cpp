// W1 on LMDB (lmdb_store.hpp says how the store is set up and used).
#include "lmdb_store.hpp"

int main(int argc, char **argv) { return bench::main_w1<bench_lmdb::lmdb_store>(argc, argv); }
