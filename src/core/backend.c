/*
 * backend.c — which table runs a device, and the one device check every op
 * makes (backend.h).
 */
#include "backend.h"

#include <stdio.h>

const nbi_backend *nbi_backend_for(nb_device_type type)
{
    switch (type) {
    case NB_CPU: return &nbi_cpu_backend;
#ifdef NB_HAVE_CUDA
    case NB_CUDA: return &nbi_cuda_backend;
#endif
    default: return NULL;
    }
}

const char *nbi_device_str(nb_device device, char *buf, size_t size)
{
    if (device.type == NB_CPU)
        snprintf(buf, size, "cpu");
    else if (device.type == NB_CUDA)
        snprintf(buf, size, "cuda:%d", device.index);
    else
        snprintf(buf, size, "device type %d", (int)device.type);
    return buf;
}

static bool same_device(nb_device a, nb_device b) { return a.type == b.type && a.index == b.index; }

bool nbi_check_device(const char *op, int count, const nb_tensor *const *tensors, const char *const *names)
{
    int first = -1;
    for (int i = 0; i < count; i++) {
        if (tensors[i] == NULL) continue;
        if (first < 0) {
            first = i;
            continue;
        }
        nb_device a = tensors[first]->storage->device, b = tensors[i]->storage->device;
        if (NBI_LIKELY(same_device(a, b))) continue;
        char sa[NBI_DEVICE_STR_SIZE], sb[NBI_DEVICE_STR_SIZE];
        nbi_fail(NB_ERR_DEVICE, "%s: expected all tensors on one device, got %s on %s and %s on %s; move one with nb_to",
                 op, names[first], nbi_device_str(a, sa, sizeof sa), names[i], nbi_device_str(b, sb, sizeof sb));
        return false;
    }
    if (first < 0) return true;
    nb_device device = tensors[first]->storage->device;
    if (NBI_LIKELY(device.type == NB_CPU) || nbi_backend_for(device.type) != NULL) return true;
    char s[NBI_DEVICE_STR_SIZE];
    nbi_fail(NB_ERR_DEVICE, "%s: %s is on %s, which this build cannot run", op, names[first],
             nbi_device_str(device, s, sizeof s));
    return false;
}

bool nbi_check_supported(const nbi_backend *backend, nbi_family family, int op, nb_dtype dtype, const char *opname)
{
    if (NBI_LIKELY(backend->supports(family, op, dtype))) return true;
    nbi_fail(NB_ERR_UNSUPPORTED, "%s: not implemented on %s for %s", opname, backend->name, nb_dtype_name(dtype));
    return false;
}

void *nbi_entry_failed(const char *opname)
{
    /* NOTE: a copy first: the pending message is the buffer nbi_fail writes. */
    char reason[512];
    snprintf(reason, sizeof reason, "%s", nb_last_error());
    return nbi_fail(nb_last_status(), "%s: %s", opname, reason);
}
