/*
 * fuzz_npy.c — libFuzzer target for the .npy reader (and the printer, on
 * whatever tensor the reader accepts). Not part of the default build.
 *
 * Build (clang), from the repository root:
 *
 *   cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
 *         -DNB_SANITIZE=address,undefined,fuzzer-no-link -DNB_BUILD_TESTS=OFF
 *   cmake --build build/fuzz --target nabla_static
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *         fuzz/fuzz_npy.c build/fuzz/libnabla.a -lm -fopenmp \
 *         $(pkg-config --libs openblas) -lz -o build/fuzz/fuzz_npy
 *
 * (drop -fopenmp, the openblas and -lz flags if CMake did not find them).
 *
 * Run, seeded with the committed corpus (the .npy fixtures; `make fuzz` runs
 * every target so), for a minute:
 *
 *   mkdir -p build/fuzz/corpus_npy
 *   build/fuzz/fuzz_npy -max_total_time=60 -rss_limit_mb=2048 \
 *         build/fuzz/corpus_npy fuzz/corpus/npy
 *
 * What it checks: no crash, no sanitizer report, no leak and no allocation
 * beyond what the input's own size justifies (libFuzzer's -malloc_limit_mb
 * defaults to the RSS limit) for any input; every failure is a NULL with an
 * error recorded, never an abort.
 */
#include "io/npy.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nbf_check_tensor_reader(nbi_load_npy_from_memory, data, size, "fuzz.npy");
    return 0;
}
