/*
 * error.c — the thread-local error of nabla.h: a status and a message.
 *
 * Every failing call records here and returns NULL or a status; nothing in
 * the library prints or aborts on bad input.
 */
#include "internal.h"

#include <stdio.h>

/* Room for a message naming a long path (PATH_MAX is 4096, but paths of
 * more than a screen are rare) with its reason; longer ones are cut. */
enum { NBI_ERROR_MESSAGE_SIZE = 2048 };

/* U+2026 in UTF-8: ends a message cut to fit. */
static const char ellipsis[] = "\xe2\x80\xa6";

static _Thread_local nb_status error_status = NB_OK;
static _Thread_local char      error_message[NBI_ERROR_MESSAGE_SIZE];

nb_status   nb_last_status(void) { return error_status; }
const char *nb_last_error(void) { return error_message; }

void nb_clear_error(void)
{
    error_status     = NB_OK;
    error_message[0] = '\0';
}

const char *nb_status_name(nb_status status)
{
    switch (status) {
    case NB_OK: return "NB_OK";
    case NB_ERR_SHAPE: return "NB_ERR_SHAPE";
    case NB_ERR_DTYPE: return "NB_ERR_DTYPE";
    case NB_ERR_DEVICE: return "NB_ERR_DEVICE";
    case NB_ERR_OOM: return "NB_ERR_OOM";
    case NB_ERR_IO: return "NB_ERR_IO";
    case NB_ERR_ARG: return "NB_ERR_ARG";
    case NB_ERR_STATE: return "NB_ERR_STATE";
    case NB_ERR_INDEX: return "NB_ERR_INDEX";
    case NB_ERR_UNSUPPORTED: return "NB_ERR_UNSUPPORTED";
    case NB_ERR_DIST: return "NB_ERR_DIST";
    }
    return "NB_ERR_UNKNOWN";
}

static void record(nb_status status, const char *fmt, va_list args)
{
    error_status = status;
    int length   = vsnprintf(error_message, sizeof error_message, fmt, args);
    if (length < 0) {
        snprintf(error_message, sizeof error_message, "(%s: the error message could not be formatted)",
                 nb_status_name(status));
        return;
    }
    if ((size_t)length < sizeof error_message) return;
    /* Too long: cut it so that "…" fits, and so that the cut falls between
     * characters, never inside a UTF-8 sequence (a path's bytes are often
     * UTF-8, and a broken sequence breaks whoever prints the message). A
     * sequence has at most 3 continuation bytes (10xxxxxx). */
    size_t cut = sizeof error_message - sizeof ellipsis;
    for (int back = 0; back < 3 && cut > 0 && ((unsigned char)error_message[cut] & 0xC0) == 0x80; back++)
        cut--;
    memcpy(error_message + cut, ellipsis, sizeof ellipsis);
}

void *nbi_fail(nb_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    record(status, fmt, args);
    va_end(args);
    return NULL;
}

nb_status nbi_fail_status(nb_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    record(status, fmt, args);
    va_end(args);
    return status;
}

nb_status nb_set_error(nb_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    record(status, fmt ? fmt : "", args);
    va_end(args);
    return status;
}

bool nbi_check_tensor(const nb_tensor *t, const char *op, const char *name)
{
    if (NBI_LIKELY(t != NULL && nbi_tensor_live(t))) return true;
    if (t != NULL)
        nbi_fail(NB_ERR_STATE, "%s: argument '%s' is a tensor that was freed (used after nb_free or after its scope "
                               "ended)", op, name);
    else if (error_status == NB_OK)
        nbi_fail(NB_ERR_ARG, "%s: argument '%s' is NULL", op, name);
    return false;
}

bool nbi_readable_slow(const nb_tensor *t, const char *op)
{
    if (t != NULL && !nbi_tensor_live(t))
        nbi_fail(NB_ERR_STATE, "%s: the tensor was freed (used after nb_free or after its scope ended)", op);
    return false;
}

bool nbi_check_cpu(const nb_tensor *t, const char *op)
{
    if (NBI_LIKELY(t->storage->device.type == NB_CPU)) return true;
    /* NOTE: the ops that still call this are not behind the backend table
     * yet (core/backend.h); the rest use nbi_check_device. */
    nbi_fail(NB_ERR_UNSUPPORTED, "%s: not implemented on CUDA yet; move the tensor with nb_to(t, NB_DEVICE_CPU)", op);
    return false;
}

bool nbi_check_floating(const nb_tensor *t, const char *op)
{
    if (nb_dtype_is_floating(t->dtype)) return true;
    nbi_fail(NB_ERR_DTYPE,
             "%s: expected a floating-point tensor (float16, bfloat16, float32 or float64), got %s; convert it with nb_to_dtype first", op,
             nb_dtype_name(t->dtype));
    return false;
}
