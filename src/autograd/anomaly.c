/*
 * anomaly.c — anomaly detection (nb_set_detect_anomaly): a backward formula
 * that produces NaN or inf stops backward with an error naming it.
 *
 * C has no stack trace to keep at record time, so a node remembers which
 * recording it was (counted from when detection was turned on) and, when
 * it was recorded by a backward pass (create_graph), the node whose formula
 * recorded it.
 */
#include "autograd.h"

static atomic_bool          anomaly_enabled;
static atomic_uint_fast64_t anomaly_records;

void nb_set_detect_anomaly(bool enabled)
{
    if (enabled && !atomic_load(&anomaly_enabled)) atomic_store(&anomaly_records, 0);
    atomic_store(&anomaly_enabled, enabled);
}

bool nb_is_anomaly_enabled(void) { return atomic_load_explicit(&anomaly_enabled, memory_order_relaxed); }
bool nbi_anomaly_enabled(void) { return atomic_load_explicit(&anomaly_enabled, memory_order_relaxed); }

void nbi_anomaly_note_record(nbi_node *node)
{
    node->anomaly_index  = atomic_fetch_add(&anomaly_records, 1) + 1;
    node->anomaly_parent = nbi_running_node ? nbi_running_node->name : NULL;
}

/* True when every element is finite. NOTE: sum(g * 0) is 0 exactly when
 * g has no NaN or inf, and NaN otherwise: one reduction, on any device. */
static bool all_finite(const nb_tensor *g, bool *ok)
{
    nbi_grad_mode_push(false);
    nb_tensor *zeroed = nb_mul_scalar(g, 0.0);
    nb_tensor *sum    = zeroed ? nb_sum(zeroed) : NULL;
    double     value  = sum ? nb_item(sum) : 0.0;
    nb_free(zeroed);
    nb_free(sum);
    nbi_grad_mode_pop();
    *ok = sum != NULL;
    return value == 0.0;
}

nb_status nbi_anomaly_check(const nbi_node *node, nb_tensor *const *grad_inputs, const char *op)
{
    for (int i = 0; i < node->ninputs; i++) {
        const nb_tensor *g = grad_inputs[i];
        if (g == NULL || !nb_dtype_is_floating(g->dtype) || g->numel == 0) continue;
        bool ok;
        if (all_finite(g, &ok)) continue;
        if (!ok) return nb_last_status();
        char recorded[160];
        if (node->anomaly_index == 0)
            snprintf(recorded, sizeof recorded, "before anomaly detection was turned on");
        else if (node->anomaly_parent)
            snprintf(recorded, sizeof recorded, "by the backward of %s (op %llu since detection was turned on)",
                     node->anomaly_parent, (unsigned long long)node->anomaly_index);
        else
            snprintf(recorded, sizeof recorded, "by forward op %llu since detection was turned on",
                     (unsigned long long)node->anomaly_index);
        return nbi_fail_status(NB_ERR_STATE,
                               "%s: detect_anomaly: function '%s' returned nan or inf values in its gradient for "
                               "input %d; the node was recorded %s",
                               op, node->name, i, recorded);
    }
    return NB_OK;
}
