/*
 * dataset.c — a dataset of tensors that share their first dim, as
 * torch.utils.data.TensorDataset: sample i is row i of each tensor.
 *
 * The dataset borrows the tensors (it holds no reference), so it costs
 * nothing to make and the caller decides when the data goes away; it must
 * outlive the dataset and any loader over it.
 */
#include "dataset.h"

#include "../core/backend.h"

#include <stdio.h>

nb_dataset *nb_tensor_dataset_new(nb_tensor *const *tensors, int count)
{
    const char *op = "nb_tensor_dataset_new";
    if (tensors == NULL) return nbi_fail(NB_ERR_ARG, "%s: argument 'tensors' is NULL", op);
    if (count < 1) return nbi_fail(NB_ERR_ARG, "%s: count must be at least 1, got %d", op, count);
    char shape_text[NBI_SHAPE_STR_SIZE];
    for (int i = 0; i < count; i++) {
        const nb_tensor *t = tensors[i];
        char             name[32];
        snprintf(name, sizeof name, "tensors[%d]", i);
        if (!nbi_check_tensor(t, op, name) || !nbi_check_device1(op, t, name)) return NULL;
        /* NOTE: host tensors only, by design for now: the loader copies a
         * batch's rows out with memcpy into CPU tensors, which the training
         * loop moves with nb_to. A dataset on a GPU would need a device
         * gather in the loader, not a wider check here. */
        if (t->storage->device.type != NB_CPU) {
            char where[NBI_DEVICE_STR_SIZE];
            return nbi_fail(NB_ERR_UNSUPPORTED,
                            "%s: %s is on %s, but datasets hold host tensors; move it with nb_to(t, NB_DEVICE_CPU)", op,
                            name, nbi_device_str(t->storage->device, where, sizeof where));
        }
        if (t->ndim == 0)
            return nbi_fail(NB_ERR_SHAPE, "%s: %s is 0-d; each tensor needs a first dim of samples", op, name);
        if (t->shape[0] != tensors[0]->shape[0])
            return nbi_fail(NB_ERR_SHAPE, "%s: %s has shape %s, whose first dim %lld differs from tensors[0]'s %lld",
                            op, name, nbi_shape_str(t->ndim, t->shape, shape_text, sizeof shape_text),
                            (long long)t->shape[0], (long long)tensors[0]->shape[0]);
    }
    nb_dataset *d = nbi_host_alloc(sizeof *d);
    if (d == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    d->tensors = nbi_host_alloc((size_t)count * sizeof *d->tensors);
    if (d->tensors == NULL) {
        nbi_host_release(d, sizeof *d);
        return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    }
    memcpy(d->tensors, tensors, (size_t)count * sizeof *d->tensors);
    d->count = count;
    d->size  = tensors[0]->shape[0];
    return d;
}

int64_t nb_dataset_size(const nb_dataset *d)
{
    if (!nbi_check_object(d, "nb_dataset_size", "d")) return -1;
    return d->size;
}

void nb_dataset_free(nb_dataset *d)
{
    if (d == NULL) return;
    nbi_host_release(d->tensors, (size_t)d->count * sizeof *d->tensors);
    nbi_host_release(d, sizeof *d);
}
