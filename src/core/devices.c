/*
 * devices.c — the public device API: naming devices, and CUDA's presence,
 * synchronisation and memory statistics. One file for builds with and
 * without the CUDA backend, so a program written for a GPU links and runs
 * everywhere (no CUDA device: false, 0, NB_ERR_DEVICE).
 */
#include "backend.h"

#include <stdlib.h>

#ifdef NB_HAVE_CUDA
#include "../cuda/cuda_runtime_api.h"
#endif

nb_status nb_device_parse(const char *text, nb_device *device)
{
    if (text == NULL || device == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_device_parse: argument is NULL");
    if (strcmp(text, "cpu") == 0) {
        *device = NB_DEVICE_CPU;
        return NB_OK;
    }
    if (strncmp(text, "cuda", 4) == 0) {
        const char *rest = text + 4;
        if (*rest == '\0') {
            *device = NB_DEVICE_CUDA(0);
            return NB_OK;
        }
        if (*rest == ':' && rest[1] >= '0' && rest[1] <= '9') {
            char *end;
            long  index = strtol(rest + 1, &end, 10);
            if (*end == '\0' && index <= 1023) {
                *device = NB_DEVICE_CUDA((int)index);
                return NB_OK;
            }
        }
    }
    return nbi_fail_status(NB_ERR_ARG, "nb_device_parse: '%.64s' is not a device (expected cpu, cuda or cuda:N)",
                           text);
}

int nb_cuda_device_count(void)
{
#ifdef NB_HAVE_CUDA
    return nbi_cuda_count();
#else
    return 0;
#endif
}

bool nb_cuda_is_available(void) { return nb_cuda_device_count() > 0; }

static bool check_cuda_index(int index, const char *op)
{
    if (index >= 0 && index < nb_cuda_device_count()) return true;
    if (nb_cuda_device_count() == 0)
        nbi_fail(NB_ERR_DEVICE, "%s: there is no CUDA device (%s)", op,
#ifdef NB_HAVE_CUDA
                 "no GPU or no driver on this machine"
#else
                 "this build has no CUDA backend"
#endif
        );
    else
        nbi_fail(NB_ERR_DEVICE, "%s: no CUDA device %d (this machine has %d)", op, index, nb_cuda_device_count());
    return false;
}

bool nbi_check_target_device(nb_device device, const char *op)
{
    if (device.type == NB_CPU) return true;
    if (device.type == NB_CUDA) return check_cuda_index(device.index, op);
    nbi_fail(NB_ERR_DEVICE, "%s: %d is not a device type (NB_CPU or NB_CUDA)", op, (int)device.type);
    return false;
}

nb_status nb_cuda_synchronize(void)
{
#ifdef NB_HAVE_CUDA
    for (int d = 0; d < nb_cuda_device_count(); d++) {
        int code = nbi_cuda_sync(d);
        if (code != 0)
            return nbi_fail_status(NB_ERR_DEVICE, "nb_cuda_synchronize: cuda:%d: %s", d, nbi_cuda_error_string(code));
    }
#endif
    return NB_OK;
}

void nb_cuda_empty_cache(void)
{
#ifdef NB_HAVE_CUDA
    nbi_cuda_empty_cache_all();
#endif
}

nb_status nb_cuda_memory(int index, nb_cuda_memory_stats *stats)
{
    if (stats == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_cuda_memory: stats is NULL");
    if (!check_cuda_index(index, "nb_cuda_memory")) return nb_last_status();
#ifdef NB_HAVE_CUDA
    nbi_cuda_memory m;
    nbi_cuda_memory_of(index, &m);
    *stats = (nb_cuda_memory_stats){ .allocated = m.allocated, .reserved = m.reserved, .peak_allocated = m.peak_allocated };
#endif
    return NB_OK;
}

nb_status nb_cuda_reset_peak_memory(int index)
{
    if (!check_cuda_index(index, "nb_cuda_reset_peak_memory")) return nb_last_status();
#ifdef NB_HAVE_CUDA
    nbi_cuda_reset_peak(index);
#endif
    return NB_OK;
}
