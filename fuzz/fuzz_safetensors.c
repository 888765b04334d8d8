/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader (and the
 * JSON reader under it): every input is parsed as a whole file; whatever
 * loads has each of its tensors read out and saved again, and the saved
 * file must load back with the same names. Not part of the default build.
 *
 * Build (clang), from the repository root:
 *
 *   cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
 *         -DNB_SANITIZE=address,undefined,fuzzer-no-link -DNB_BUILD_TESTS=OFF
 *   cmake --build build/fuzz --target nabla_static
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *         fuzz/fuzz_safetensors.c build/fuzz/libnabla.a -lm -fopenmp \
 *         $(pkg-config --libs openblas) -lz -o build/fuzz/fuzz_safetensors
 *
 * (drop -fopenmp, the openblas and -lz flags if CMake did not find them).
 *
 * Run, seeded with the committed corpus (the test fixtures and a file with
 * a large __metadata__), for a minute (the dictionary helps it find the keys
 * and dtypes); `make fuzz` does this for every target (scripts/ci-fuzz):
 *
 *   mkdir -p build/fuzz/corpus_safetensors
 *   build/fuzz/fuzz_safetensors -max_total_time=60 -rss_limit_mb=2048 \
 *         -dict=fuzz/safetensors.dict build/fuzz/corpus_safetensors fuzz/corpus/safetensors
 *
 * What it checks: no crash, no sanitizer report, no leak and no allocation
 * beyond what the input's own size justifies, for any input; every failure
 * is a NULL with an error recorded, never an abort; a file that loads
 * survives a save and a load unchanged in its names.
 */
#include "io/safetensors.h"

#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every tensor of f (those nabla cannot hold must fail with a reason),
 * save them all and load the result back. */
static void round_trip(nb_safetensors *f)
{
    int64_t      count   = nb_safetensors_count(f);
    nb_tensor  **tensors = calloc((size_t)count + 1, sizeof *tensors);
    const char **names   = calloc((size_t)count + 1, sizeof *names);
    if (tensors == NULL || names == NULL) abort();
    int64_t kept = 0;
    for (int64_t i = 0; i < count; i++) {
        const char *name = nb_safetensors_name(f, i);
        nb_tensor  *t    = nb_safetensors_get(f, name);
        if (t == NULL) {
            if (nb_last_status() != NB_ERR_DTYPE && nb_last_status() != NB_ERR_OOM) abort();
            nb_clear_error();
            continue;
        }
        names[kept]     = name;
        tensors[kept++] = t;
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_safetensors_%d.safetensors", (int)getpid());
    if (nb_save_safetensors(path, names, tensors, kept, NULL, NULL, 0) != NB_OK) {
        /* Names from a file are valid UTF-8 without NULs, so saving them
         * can fail only for the file system. */
        if (nb_last_status() != NB_ERR_IO) abort();
        nb_clear_error();
    } else {
        nb_safetensors *back = nb_safetensors_load(path);
        if (back == NULL || nb_safetensors_count(back) != kept) abort();
        for (int64_t i = 0; i < kept; i++)
            if (nb_safetensors_get(back, names[i]) == NULL) abort(); /* the scope releases it */
        nb_safetensors_free(back);
        remove(path);
    }
    for (int64_t i = 0; i < kept; i++)
        nb_free(tensors[i]);
    free(tensors);
    free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = nb_live_tensors();
    if (nb_scope_begin() != NB_OK) abort();
    nb_safetensors *f = nbi_safetensors_from_memory(data, size, "fuzz.safetensors");
    if (f == NULL) {
        nbf_check_failure_says_why();
    } else {
        /* The metadata path: a present and an absent key (the seed
         * large_metadata.safetensors has key_000 .. key_119). */
        const char *value = nb_safetensors_metadata(f, "key_000");
        if (value != NULL && strlen(value) > size) abort();
        (void)nb_safetensors_metadata(f, "no such key");
        round_trip(f);
        nb_safetensors_free(f);
    }
    nb_scope_end();
    nbf_end_input(live);
    return 0;
}
