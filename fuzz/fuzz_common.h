/*
 * fuzz_common.h — what every libFuzzer target of a file reader checks after
 * one input: a failure says why, a tensor that loads also prints, and no
 * tensor outlives the input. Each check that fails aborts, which libFuzzer
 * reports as a crash with the input that caused it.
 */
#ifndef NB_FUZZ_COMMON_H
#define NB_FUZZ_COMMON_H

#include "nabla.h"

#include <stdint.h>
#include <stdlib.h>

/* A reader returned NULL: it must have recorded why. */
static inline void nbf_check_failure_says_why(void)
{
    if (nb_last_status() == NB_OK || nb_last_error()[0] == '\0') abort();
}

/* The end of one input: the tensors alive before it (live) are all that are
 * alive now; the error is cleared for the next input. */
static inline void nbf_end_input(int64_t live)
{
    if (nb_live_tensors() != live) abort();
    nb_clear_error();
}

/* A reader of one tensor from memory (IDX, .npy). */
typedef nb_tensor *(*nbf_tensor_reader)(const void *bytes, size_t size, const char *name);

/* One input through read: a failure must say why; whatever loads must also
 * print (NaN, inf, any width, any shape) and is freed. */
static inline void nbf_check_tensor_reader(nbf_tensor_reader read, const uint8_t *data, size_t size, const char *name)
{
    int64_t    live = nb_live_tensors();
    nb_tensor *t    = read(data, size, name);
    if (t == NULL) {
        nbf_check_failure_says_why();
    } else {
        char *text = nb_to_string(t);
        if (text == NULL) abort();
        nb_string_free(text);
        nb_free(t);
    }
    nbf_end_input(live);
}

#endif /* NB_FUZZ_COMMON_H */
