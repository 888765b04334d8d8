/*
 * optim_internal.h — the optimizer object, shared by optim.c (the common
 * part, SGD and RMSprop), adam.c (Adam and AdamW) and scheduler.c.
 *
 * An optimizer borrows its parameters and owns its state: per parameter up
 * to three buffers of the parameter's shape and dtype (contiguous, made on
 * the parameter's first step, outside every scope) and a step count. Each
 * algorithm has two forms of its update, which the tests compare:
 *   - a composite of public in-place nb_* ops, written line for line as
 *     torch.optim's single-tensor (foreach=False) algorithm; it takes any
 *     layout;
 *   - a fused step over contiguous float32 / float64 data (one pass, no
 *     allocation), doing the same arithmetic in the same order, in the
 *     parameter's dtype with the scalars rounded to it, as torch's kernels:
 *     the entry of the parameter's device table (core/backend.h; on the
 *     CPU, the loops of optim_kernels.c).
 */
#ifndef NABLA_NN_OPTIM_INTERNAL_H
#define NABLA_NN_OPTIM_INTERNAL_H

#include "core/internal.h"
#include "core/optim_args.h"

typedef enum { NBI_OPTIM_SGD, NBI_OPTIM_ADAM, NBI_OPTIM_ADAMW, NBI_OPTIM_RMSPROP } nbi_optim_kind;

enum { NBI_OPTIM_MAX_BUFFERS = 3 };

/* What each algorithm keeps in buffers[]:
 *   SGD      momentum_buffer
 *   Adam(W)  exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad only)
 *   RMSprop  square_avg, momentum_buffer (momentum > 0), grad_avg (centered) */
enum { NBI_SGD_MOMENTUM_BUFFER = 0 };
enum { NBI_ADAM_EXP_AVG = 0, NBI_ADAM_EXP_AVG_SQ = 1, NBI_ADAM_MAX_EXP_AVG_SQ = 2 };
enum { NBI_RMSPROP_SQUARE_AVG = 0, NBI_RMSPROP_MOMENTUM = 1, NBI_RMSPROP_GRAD_AVG = 2 };
typedef struct {
    nb_tensor *buffers[NBI_OPTIM_MAX_BUFFERS]; /* NULL until made */
    unsigned   unwritten;                      /* bit slot: made without zeros, not yet written */
    int64_t    step;                           /* updates this parameter took */
} nbi_param_state;

struct nb_optim {
    nbi_handle_head  head;  /* NBI_OBJECT_LIVE; DEAD once freed; the generation (handles.h) */
    nbi_optim_kind   kind;
    int64_t          count;
    nb_tensor      **params; /* borrowed: they must outlive the optimizer */
    nbi_param_state *state;  /* count entries */
    double           lr;
    /* torch's group['initial_lr']: the lr when the first scheduler was
     * attached, the base of every scheduler made after; NAN before. */
    double initial_lr;
    union {
        nb_sgd_opts     sgd;
        nb_adam_opts    adam;
        nb_rmsprop_opts rmsprop;
    } opts;
};

/* A new optimizer over params (validated: non-empty, each a distinct
 * floating-point leaf on a device this build runs, that requires grad and
 * can be written in place), lr checked; opts are filled in by the caller.
 * NULL with NB_ERR_ARG (or NB_ERR_DEVICE, NB_ERR_OOM) naming op. */
nb_optim *nbi_optim_new(nbi_optim_kind kind, const char *op, nb_tensor *const *params, int64_t count, double lr);

/* One step, as nb_optim_step; with allow_fused false every parameter takes
 * the composite path (the tests' reference for the fused loops). */
nb_status nbi_optim_step(nb_optim *o, bool allow_fused);

/* The update of parameter i, whose grad is set. Called in no-grad mode. */
nb_status nbi_sgd_update(nb_optim *o, int64_t i, bool allow_fused);
nb_status nbi_rmsprop_update(nb_optim *o, int64_t i, bool allow_fused);
nb_status nbi_adam_update(nb_optim *o, int64_t i, bool allow_fused);

/* Buffer slot of parameter i, made on first use (contiguous, the
 * parameter's shape and dtype, zero-filled when zero, outside every scope
 * and owned by the optimizer). NULL with the error recorded (out of
 * memory, or no zero fill on the parameter's device). With fresh (may be NULL), says
 * whether the buffer was made without zeros and not yet handed out with
 * fresh: the caller then writes it first (SGD's momentum buffer starts as
 * the first d), or drops it. nbi_optim_step makes every buffer of a step
 * before the first update (fresh NULL), so that the fused loops, which
 * allocate nothing else, either all run or none does. */
nb_tensor *nbi_optim_buffer(nb_optim *o, int64_t i, int slot, bool zero, bool *fresh);

/* Free buffer slot of parameter i (a fresh one that could not be filled). */
void nbi_optim_drop_buffer(nb_optim *o, int64_t i, int slot);

/* Parameter p and its gradient g (on p's device: nbi_optim_step checked)
 * can take the fused step of rule: same dtype, both contiguous, same
 * element count, and p's backend has that step for the dtype. Otherwise
 * the update is the composite, which runs wherever its ops do. */
bool nbi_optim_fusable(const nb_tensor *p, const nb_tensor *g, nbi_step_rule rule);

/* The fused step's view of p and its gradient (nbi_optim_fusable holds). */
nbi_optim_param nbi_optim_param_of(nb_tensor *p);

/* v written as Python's repr writes a float ("0.1", "1.0", "1e-08", "nan"),
 * so messages read as torch's ("Invalid learning rate: -0.1"). */
const char *nbi_format_float(double v, char *buf, size_t size);

/* Front-door checks of hyper-parameters, torch's wording: false with
 * NB_ERR_ARG "op: Invalid <what>: <value>" unless value >= 0 (NaN fails). */
bool nbi_check_non_negative(double value, const char *what, const char *op);

/* The NULL-argument rule of nabla.h for non-tensor handles: NB_ERR_ARG
 * "op: argument 'name' is NULL", recorded only when no error is pending. */
nb_status nbi_null_argument(const char *op, const char *name);

#endif /* NABLA_NN_OPTIM_INTERNAL_H */
