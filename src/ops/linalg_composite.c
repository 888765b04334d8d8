/*
 * linalg_composite.c — linear algebra composed of other public ops, so it
 * runs on every device and autograd differentiates it: addmm, baddbmm,
 * kron, linalg.cross, linalg.vector_norm and linalg.matrix_norm (the
 * nuclear and spectral norms through nb_linalg_svdvals, which needs
 * LAPACK). einsum is in einsum.c.
 *
 * Where torch has one node for the op (AddmmBackward0, LinalgCrossBackward0,
 * LinalgVectorNormBackward0), the composite's last node takes torch's name,
 * as nb_bmm does; tests/test_opinfo.c lists the names that still differ.
 */
#include <math.h>
#include <string.h>

#include "autograd/autograd.h"
#include "core/backend.h"

static void rename_node(nb_tensor *out, const char *name)
{
    if (out != NULL && out->grad_fn != NULL) out->grad_fn->name = name;
}

/* ------------------------------------------------------------------------ */
/* addmm, baddbmm                                                            */
/* ------------------------------------------------------------------------ */

/* t * value, value in t's dtype (an integer tensor truncates it, as torch
 * converts alpha and beta to the tensor's dtype). */
static nb_tensor *scale_by(const nb_tensor *t, double value)
{
    if (value == 1) return nbi_alias_recorded(t, "nb_addmm");
    nb_tensor *factor = nb_scalar(value, NB_OPTS(.dtype = t->dtype, .device = t->storage->device));
    nb_tensor *out    = factor ? nb_mul(t, factor) : NULL;
    nb_free(factor);
    return out;
}

/* beta * input + alpha * product, input expandable to product's shape. */
static nb_tensor *add_scaled(const nb_tensor *input, const nb_tensor *m1, const nb_tensor *m2, double beta,
                             double alpha, bool batched, const char *op)
{
    const nb_tensor   *operands[3] = { input, m1, m2 };
    static const char *names[3]    = { "input", "m1", "m2" };
    if (!nbi_check_tensor(input, op, "input") || !nbi_check_tensor(m1, op, "m1") || !nbi_check_tensor(m2, op, "m2")
        || !nbi_check_device(op, 3, operands, names))
        return NULL;
    /* NOTE: torch 1.13's baddbmm converts input to the product's dtype;
     * addmm refuses a different one. */
    if ((!batched && input->dtype != m1->dtype) || m1->dtype != m2->dtype)
        return nbi_fail(NB_ERR_DTYPE, "%s: input, m1 and m2 must have one dtype, got %s, %s and %s", op,
                        nb_dtype_name(input->dtype), nb_dtype_name(m1->dtype), nb_dtype_name(m2->dtype));
    if (nbi_is_half(m1->dtype)) {
        /* in float32, rounded once, as torch's half addmm: the product
         * rounded before the sum loses input's small terms */
        if (nb_scope_begin() != NB_OK) return NULL;
        nb_tensor *wide = add_scaled(nbi_float32_if_half(input), nbi_float32_if_half(m1), nbi_float32_if_half(m2), beta,
                                     alpha, batched, op);
        nb_tensor *out  = nb_keep(wide ? nb_to_dtype(wide, m1->dtype) : NULL);
        nb_scope_end();
        return out;
    }
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *product = batched ? nb_bmm(m1, m2) : nb_mm(m1, m2);
    nb_tensor *out     = NULL;
    if (product != NULL) {
        nb_shape shape = nb_shape_of(product), joined;
        if (nb_broadcast_shapes(nb_shape_of(input), shape, &joined) != NB_OK || joined.ndim != shape.ndim
            || memcmp(joined.dims, shape.dims, sizeof(int64_t) * (size_t)shape.ndim) != 0) {
            char buf_i[NBI_SHAPE_STR_SIZE], buf_p[NBI_SHAPE_STR_SIZE];
            nb_clear_error();
            nbi_fail(NB_ERR_SHAPE, "%s: input of shape %s cannot be expanded to the product's shape %s", op,
                     nbi_shape_str(input->ndim, input->shape, buf_i, sizeof buf_i),
                     nbi_shape_str(shape.ndim, shape.dims, buf_p, sizeof buf_p));
        } else {
            bool       integer = !nb_dtype_is_floating(product->dtype);
            nb_tensor *scaled  = scale_by(product, integer ? (double)(int64_t)alpha : alpha);
            if (input->dtype != product->dtype) input = nb_to_dtype(input, product->dtype);
            /* NOTE: beta == 0 leaves input's values out entirely (0 * NaN
             * would be NaN), but not its gradient: torch gives it g * 0, zeros.
             * where(true, -0., input) is -0. everywhere, which adds nothing
             * to any value (x + -0. is x, -0. included), and passes input
             * zeros. */
            if (beta == 0 || (integer && (int64_t)beta == 0)) {
                out = scaled;
                if (nbi_grad_enabled() && nbi_takes_grad(input)) {
                    nb_tensor *always   = nb_ones(NB_SCALAR_SHAPE, NB_OPTS(.dtype = NB_BOOL));
                    nb_tensor *negative = nb_full(NB_SCALAR_SHAPE, -0.0, NB_OPTS(.dtype = input->dtype));
                    out = nb_add(scaled, nb_where(always, negative, input));
                }
            } else {
                out = nb_add(scale_by(input, integer ? (double)(int64_t)beta : beta), scaled);
            }
        }
    }
    if (out != NULL) nb_keep(out);
    nb_scope_end();
    return out;
}

nb_tensor *nb_addmm(const nb_tensor *input, const nb_tensor *m1, const nb_tensor *m2, double beta, double alpha)
{
    nb_tensor *out = add_scaled(input, m1, m2, beta, alpha, false, "nb_addmm");
    rename_node(out, "AddmmBackward0");
    return out;
}

nb_tensor *nb_baddbmm(const nb_tensor *input, const nb_tensor *b1, const nb_tensor *b2, double beta, double alpha)
{
    nb_tensor *out = add_scaled(input, b1, b2, beta, alpha, true, "nb_baddbmm");
    rename_node(out, "BaddbmmBackward0");
    return out;
}

/* ------------------------------------------------------------------------ */
/* kron                                                                      */
/* ------------------------------------------------------------------------ */

/* a viewed as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...), then each
 * pair of dims merged: out[i0 b0 + j0, ...] = a[i0, ...] b[j0, ...]. */
nb_tensor *nb_kron(const nb_tensor *a, const nb_tensor *b)
{
    const char        *op          = "nb_kron";
    const nb_tensor   *operands[2] = { a, b };
    static const char *names[2]    = { "a", "b" };
    if (!nbi_check_tensor(a, op, "a") || !nbi_check_tensor(b, op, "b") || !nbi_check_device(op, 2, operands, names))
        return NULL;
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    if (2 * nd > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: at most %d dims (the interleaved product has twice as many), got %d", op,
                        NB_MAX_DIMS / 2, nd);
    nb_shape spread_a = { .ndim = 2 * nd }, spread_b = { .ndim = 2 * nd }, merged = { .ndim = nd };
    for (int d = 0; d < nd; d++) {
        int     da = d - (nd - a->ndim), db = d - (nd - b->ndim);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        spread_a.dims[2 * d] = sa, spread_a.dims[2 * d + 1] = 1;
        spread_b.dims[2 * d] = 1, spread_b.dims[2 * d + 1] = sb;
        merged.dims[d] = sa * sb;
    }
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *out = nb_reshape(nb_mul(nb_reshape(a, spread_a), nb_reshape(b, spread_b)), merged);
    if (out != NULL) nb_keep(out);
    nb_scope_end();
    return out;
}

/* ------------------------------------------------------------------------ */
/* cross                                                                     */
/* ------------------------------------------------------------------------ */

/* a x b = (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0): a and b rolled by
 * one and by two along dim. */
nb_tensor *nb_linalg_cross(const nb_tensor *a, const nb_tensor *b, int dim)
{
    const char        *op          = "nb_linalg_cross";
    const nb_tensor   *operands[2] = { a, b };
    static const char *names[2]    = { "a", "b" };
    if (!nbi_check_tensor(a, op, "a") || !nbi_check_tensor(b, op, "b") || !nbi_check_device(op, 2, operands, names))
        return NULL;
    if (a->dtype != b->dtype)
        return nbi_fail(NB_ERR_DTYPE, "%s: a and b must have one dtype, got %s and %s", op, nb_dtype_name(a->dtype),
                        nb_dtype_name(b->dtype));
    if (a->dtype == NB_BOOL) return nbi_fail(NB_ERR_DTYPE, "%s: bool tensors are not supported", op);
    if (a->ndim != b->ndim)
        return nbi_fail(NB_ERR_SHAPE, "%s: a and b must have the same number of dims, got %d and %d (as torch)", op,
                        a->ndim, b->ndim);
    nb_shape shape;
    if (nb_broadcast_shapes(nb_shape_of(a), nb_shape_of(b), &shape) != NB_OK) {
        char buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
        nb_clear_error();
        return nbi_fail(NB_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", op,
                        nbi_shape_str(a->ndim, a->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(b->ndim, b->shape, buf_b, sizeof buf_b));
    }
    int d = nbi_wrap_dim(dim, shape.ndim, op);
    if (d < 0) return NULL;
    if (shape.ndim == 0 || a->shape[d - (shape.ndim - a->ndim)] != 3 || b->shape[d - (shape.ndim - b->ndim)] != 3)
        return nbi_fail(NB_ERR_SHAPE, "%s: a and b must have size 3 along dim %d", op, dim);
    if (nb_scope_begin() != NB_OK) return NULL;
    static const int64_t next[3] = { 1, 2, 0 }, after[3] = { 2, 0, 1 };
    nb_tensor *by_one  = nb_from_data(next, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64, .device = a->storage->device));
    nb_tensor *by_two  = nb_from_data(after, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64, .device = a->storage->device));
    nb_tensor *A       = nb_expand(a, shape), *B = nb_expand(b, shape);
    nb_tensor *a1 = nb_index_select(A, d, by_one), *a2 = nb_index_select(A, d, by_two);
    nb_tensor *b1 = nb_index_select(B, d, by_one), *b2 = nb_index_select(B, d, by_two);
    nb_tensor *out = nb_sub(nb_mul(a1, b2), nb_mul(a2, b1));
    rename_node(out, "LinalgCrossBackward0");
    if (out != NULL) nb_keep(out);
    nb_scope_end();
    return out;
}

/* ------------------------------------------------------------------------ */
/* vector_norm, matrix_norm                                                  */
/* ------------------------------------------------------------------------ */

static bool check_float(const nb_tensor *t, const char *op)
{
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_device1(op, t, "t")) return false;
    if (nb_dtype_is_floating(t->dtype)) return true;
    nbi_fail(NB_ERR_DTYPE, "%s: expected a float32 or float64 tensor, got %s", op, nb_dtype_name(t->dtype));
    return false;
}

nb_tensor *nb_linalg_vector_norm(const nb_tensor *t, double ord, nb_dims dims, bool keepdim)
{
    if (!check_float(t, "nb_linalg_vector_norm")) return NULL;
    if (ord != ord) return nbi_fail(NB_ERR_ARG, "nb_linalg_vector_norm: ord is NaN");
    /* torch: inf and negative orders have no value over no elements (the
     * max of nothing, 0 to a negative power) */
    if (t->numel == 0 && (ord < 0 || ord == INFINITY)) {
        if (dims.n == 0)
            return nbi_fail(NB_ERR_SHAPE,
                            "nb_linalg_vector_norm: cannot compute the %g norm on an empty tensor because the "
                            "operation does not have an identity",
                            ord);
        for (int i = 0; i < dims.n; i++) {
            int d = nbi_wrap_dim(dims.dims[i], t->ndim, "nb_linalg_vector_norm");
            if (d < 0) return NULL;
            if (t->shape[d] == 0)
                return nbi_fail(NB_ERR_SHAPE,
                                "nb_linalg_vector_norm: cannot compute the %g norm on the dimension %d because this "
                                "dimension is empty and the operation does not have an identity",
                                ord, d);
        }
    }
    nb_tensor *out = nb_norm_dims(t, ord, dims, keepdim);
    rename_node(out, "LinalgVectorNormBackward0");
    return out;
}

/* The max (min) of t along dim, kept, with torch's amax gradient: shared
 * evenly among the elements equal to it (an infinite extreme included). */
static nb_tensor *extreme_shared(const nb_tensor *t, int dim, bool largest)
{
    nb_dims along = { .n = 1, .dims = { dim } };
    return largest ? nb_amax(t, along, true) : nb_amin(t, along, true);
}

/* The two reductions of the induced norms: the sum of |x| along sum_dim,
 * then the max (min) along pick_dim, both kept. */
static nb_tensor *induced_norm(const nb_tensor *t, int sum_dim, int pick_dim, bool largest)
{
    nb_tensor *sums = nb_sum_dims(nb_abs(t), (nb_dims){ .n = 1, .dims = { sum_dim } }, true);
    return sums ? extreme_shared(sums, pick_dim, largest) : NULL;
}

/* The singular values' sum, largest or smallest, with t's dims d0, d1
 * moved last for svdvals and brought back as kept size-1 dims. */
static nb_tensor *spectral_norm(const nb_tensor *t, int d0, int d1, nb_matrix_norm_ord ord)
{
    nb_dims order = { .n = t->ndim };
    int     k     = 0;
    for (int d = 0; d < t->ndim; d++)
        if (d != d0 && d != d1) order.dims[k++] = d;
    order.dims[k++] = d0;
    order.dims[k++] = d1;
    nb_tensor *S    = nb_linalg_svdvals(nb_permute(t, order));
    if (S == NULL) return NULL;
    nb_tensor *out;
    if (ord == NB_NORM_NUC) out = nb_sum_dims(S, NB_DIMS(-1), false);
    else out = nb_squeeze_dim(extreme_shared(S, S->ndim - 1, ord == NB_NORM_TWO), -1);
    int lo = d0 < d1 ? d0 : d1, hi = d0 < d1 ? d1 : d0;
    return nb_unsqueeze(nb_unsqueeze(out, lo), hi);
}

nb_tensor *nb_linalg_matrix_norm(const nb_tensor *t, nb_matrix_norm_ord ord, nb_dims dims, bool keepdim)
{
    const char *op = "nb_linalg_matrix_norm";
    if (!check_float(t, op)) return NULL;
    if ((unsigned)ord > NB_NORM_NEG_INF) return nbi_fail(NB_ERR_ARG, "%s: ord %d is not an nb_matrix_norm_ord", op, ord);
    if (t->ndim < 2) return nbi_fail(NB_ERR_SHAPE, "%s: t must have at least 2 dims, got %d", op, t->ndim);
    if (dims.n != 2) return nbi_fail(NB_ERR_ARG, "%s: dims must name 2 dims, got %d", op, dims.n);
    int d0 = nbi_wrap_dim(dims.dims[0], t->ndim, op), d1 = d0 < 0 ? -1 : nbi_wrap_dim(dims.dims[1], t->ndim, op);
    if (d1 < 0) return NULL;
    if (d0 == d1) return nbi_fail(NB_ERR_ARG, "%s: dims must be two different dims, got %d twice", op, d0);
    if (ord == NB_NORM_FRO) {
        nb_tensor *out = nb_norm_dims(t, 2, (nb_dims){ .n = 2, .dims = { d0, d1 } }, keepdim);
        rename_node(out, "LinalgVectorNormBackward0");
        return out;
    }
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *kept = NULL;
    switch (ord) {
    case NB_NORM_ONE: kept = induced_norm(t, d0, d1, true); break;
    case NB_NORM_NEG_ONE: kept = induced_norm(t, d0, d1, false); break;
    case NB_NORM_INF: kept = induced_norm(t, d1, d0, true); break;
    case NB_NORM_NEG_INF: kept = induced_norm(t, d1, d0, false); break;
    default: kept = spectral_norm(t, d0, d1, ord); break;
    }
    nb_tensor *out = kept;
    if (out != NULL && !keepdim) {
        int lo = d0 < d1 ? d0 : d1, hi = d0 < d1 ? d1 : d0;
        out    = nb_squeeze_dim(nb_squeeze_dim(kept, hi), lo);
    }
    if (out != NULL) nb_keep(out);
    nb_scope_end();
    return out;
}
