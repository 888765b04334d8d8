/*
 * fuzz_idx.c — libFuzzer target for the IDX reader, plain and gzip (and the
 * printer, on whatever tensor the reader accepts). Not part of the default
 * build.
 *
 * Build (clang), from the repository root:
 *
 *   cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
 *         -DNB_SANITIZE=address,undefined,fuzzer-no-link -DNB_BUILD_TESTS=OFF
 *   cmake --build build/fuzz --target nabla_static
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *         fuzz/fuzz_idx.c build/fuzz/libnabla.a -lm -fopenmp \
 *         $(pkg-config --libs openblas) -lz -o build/fuzz/fuzz_idx
 *
 * (drop -fopenmp, the openblas and -lz flags if CMake did not find them;
 * without zlib every gzip input is a clean NB_ERR_UNSUPPORTED).
 *
 * Run, seeded with the committed corpus (the fixtures of every type, plain
 * and gzip; `make fuzz` runs every target so), for a
 * minute:
 *
 *   mkdir -p build/fuzz/corpus_idx
 *   build/fuzz/fuzz_idx -max_total_time=60 -rss_limit_mb=2048 \
 *         build/fuzz/corpus_idx fuzz/corpus/idx
 *
 * What it checks: no crash, no sanitizer report, no leak and no allocation
 * beyond what the input can hold (libFuzzer's -malloc_limit_mb defaults to
 * the RSS limit; a gzip input of n bytes may make the reader allocate at
 * most about 1032 n bytes, deflate's largest expansion) for any input;
 * every failure is a NULL with an error recorded, never an abort.
 */
#include "io/idx.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nbf_check_tensor_reader(nbi_load_idx_from_memory, data, size, "fuzz.idx");
    return 0;
}
