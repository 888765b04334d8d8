/*
 * grad_mode.c — whether ops record into the backward graph, per thread.
 *
 * A stack, so that no-grad and enable-grad regions nest in any order (an
 * optimizer step in no-grad inside a training loop in enable-grad, or the
 * engine turning recording off around formulas unless create_graph).
 */
#include "autograd.h"

enum { MAX_GRAD_MODE_DEPTH = 64 };

static _Thread_local bool grad_mode_stack[MAX_GRAD_MODE_DEPTH];
static _Thread_local int  grad_mode_depth;
/* Pushes past the stack's size still count, so that ends match begins. */
static _Thread_local int  grad_mode_overflow;

bool nbi_grad_enabled(void) { return grad_mode_depth == 0 || grad_mode_stack[grad_mode_depth - 1]; }
bool nb_is_grad_enabled(void) { return nbi_grad_enabled(); }

void nbi_grad_mode_push(bool enabled)
{
    if (grad_mode_depth < MAX_GRAD_MODE_DEPTH)
        grad_mode_stack[grad_mode_depth++] = enabled;
    else
        grad_mode_overflow++;
}

void nbi_grad_mode_pop(void)
{
    if (grad_mode_overflow > 0)
        grad_mode_overflow--;
    else if (grad_mode_depth > 0)
        grad_mode_depth--;
}

static nb_status push(bool enabled, const char *op)
{
    if (grad_mode_depth == MAX_GRAD_MODE_DEPTH)
        return nbi_fail_status(NB_ERR_STATE, "%s: grad mode regions nest at most %d deep", op, MAX_GRAD_MODE_DEPTH);
    grad_mode_stack[grad_mode_depth++] = enabled;
    return NB_OK;
}

static nb_status pop(bool enabled, const char *op, const char *begin)
{
    if (grad_mode_depth == 0 || grad_mode_stack[grad_mode_depth - 1] != enabled)
        return nbi_fail_status(NB_ERR_STATE, "%s: no matching %s is open", op, begin);
    grad_mode_depth--;
    return NB_OK;
}

nb_status nb_no_grad_begin(void) { return push(false, "nb_no_grad_begin"); }
nb_status nb_no_grad_end(void) { return pop(false, "nb_no_grad_end", "nb_no_grad_begin"); }
nb_status nb_enable_grad_begin(void) { return push(true, "nb_enable_grad_begin"); }
nb_status nb_enable_grad_end(void) { return pop(true, "nb_enable_grad_end", "nb_enable_grad_begin"); }
