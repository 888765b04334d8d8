/*
 * error.c — the thread-local error of nabla.h: a status and a message.
 *
 * Every failing call records here and returns NULL or a status; nothing in
 * the library prints or aborts on bad input.
 */
#include "internal.h"

#include <stdio.h>

enum { NBI_ERROR_MESSAGE_SIZE = 512 };

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
    }
    return "NB_ERR_UNKNOWN";
}

static void record(nb_status status, const char *fmt, va_list args)
{
    error_status = status;
    vsnprintf(error_message, sizeof error_message, fmt, args);
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
    if (NBI_LIKELY(t != NULL && t->magic == NBI_TENSOR_LIVE)) return true;
    if (t != NULL)
        nbi_fail(NB_ERR_STATE, "%s: argument '%s' is a tensor that was freed (used after nb_free or after its scope "
                               "ended)", op, name);
    else if (error_status == NB_OK)
        nbi_fail(NB_ERR_ARG, "%s: argument '%s' is NULL", op, name);
    return false;
}

bool nbi_check_cpu(const nb_tensor *t, const char *op)
{
    if (NBI_LIKELY(t->storage->device.type == NB_CPU)) return true;
    nbi_fail(NB_ERR_DEVICE, "%s: the tensor is on a device this build cannot run", op);
    return false;
}

bool nbi_check_floating(const nb_tensor *t, const char *op)
{
    if (nb_dtype_is_floating(t->dtype)) return true;
    nbi_fail(NB_ERR_DTYPE,
             "%s: expected a floating-point tensor (float32 or float64), got %s; convert it with nb_to_dtype first", op,
             nb_dtype_name(t->dtype));
    return false;
}
