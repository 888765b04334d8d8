/*
 * op_info.h — the OpInfo table: one row per op of the public API, which
 * drives tests/test_opinfo.c (forward values, dtypes and errors against
 * PyTorch, gradients against PyTorch, nb_gradcheck / nb_gradgradcheck,
 * in-place and view variants, requires_grad / is_leaf / grad_fn name of
 * the result with and without grad mode) and scripts/make_opinfo_fixtures.py (which
 * reads the OP(...) lines below to know which samples to make).
 *
 * Adding an op means adding its row here (and its torch reference in the
 * script); test_opinfo.c fails when an op declared in nabla.h / nn.h has
 * neither a row nor an entry in its exemption list.
 *
 * Included twice: once plain for the types, then with OP defined to expand
 * the rows:
 *
 *   OP(name, arity, kind, dtypes, domain, flags, call expression)
 *
 *   name    the nb_ function without "nb_" (or a pseudo-op such as
 *           max_dim_indices for a second result)
 *   arity   tensor inputs (a loss's optional weight counts; absent: NULL)
 *   kind    the sample generator in the script: UNARY, BINARY, SCALAR
 *           (tensor and a number p->d[0]), TERNARY, REDUCE (whole tensor),
 *           REDUCE_DIMS (p->dims, p->flag = keepdim), DIM (p->i[0] = dim,
 *           p->flag = keepdim), VIEW, CAST, MATMUL, JOIN, INDEX, SORT, NN,
 *           LOSS, SHAPE, STACKS, INDEX_PUT; the in-place kinds INPLACE_UNARY / INPLACE_BINARY /
 *           INPLACE_SCALAR (the fixture's output is x[0]'s whole base after
 *           the call, made on a clone of the leaf)
 *   dtypes  what nabla documents it takes for x[0] (for elementwise ops:
 *           the dtype they compute in, after promotion): FLOAT, NUMERIC
 *           (not bool) or ALL; another dtype must give NB_ERR_DTYPE even
 *           where torch would convert. For the primitives of
 *           src/core/ops.def (and their _scalar and in-place forms) the
 *           test takes ops.def's column instead, so they cannot drift.
 *   domain  values the script draws: ANY, POS (> 0), NZ (no zero), POW
 *   flags   DIFF (gradients checked against torch, nb_gradcheck), FIRST
 *           (piecewise: no nb_gradgradcheck), NONDIFF
 *
 * The call expression sees x (the inputs, NULL past the case's count) and
 * p (the case's parameters, below).
 */
#ifndef OP_INFO_H
#define OP_INFO_H

#include "nabla.h"

/* A case's parameters, as the fixture stores them. */
typedef struct {
    int64_t  i[10];  /* dims, counts, conv/pool geometry, ...     */
    double   d[4];   /* scalars, eps, momentum, ...                */
    nb_dims  dims;   /* reduction dims, permutation                */
    nb_shape shape;  /* target shape; pad list (ndim = count)      */
    bool     flag;   /* keepdim, descending, training, ...         */
    bool     flag2;
} op_params;

enum { OP_DIFF = 1, OP_FIRST = 2, OP_NONDIFF = 0, OP_LAPACK = 4 };
#define DIFF OP_DIFF
#define FIRST (OP_DIFF | OP_FIRST)
#define NONDIFF OP_NONDIFF
/* The same for ops that need LAPACK: in a build without it (no OpenBLAS)
 * the test expects NB_ERR_UNSUPPORTED wherever torch succeeds. */
#define LDIFF (OP_DIFF | OP_LAPACK)
#define LFIRST (OP_DIFF | OP_FIRST | OP_LAPACK)
#define LNONDIFF OP_LAPACK

static inline nb_conv_opts op_conv_opts(const op_params *p)
{
    return NB_CONV_OPTS(.stride = { p->i[0], p->i[1] }, .padding = { p->i[2], p->i[3] },
                        .dilation = { p->i[4], p->i[5] }, .groups = p->i[6], .output_padding = { p->i[7], p->i[8] });
}
static inline nb_pool_opts op_pool_opts(const op_params *p)
{
    return NB_POOL_OPTS(.kernel = { p->i[0], p->i[1] }, .stride = { p->i[2], p->i[3] }, .padding = { p->i[4], p->i[5] },
                        .dilation = { p->i[6], p->i[7] }, .ceil_mode = p->flag, .exclude_pad_from_avg = p->flag2);
}
static inline nb_cross_entropy_opts op_ce_opts(nb_tensor *const *x, const op_params *p)
{
    return NB_CROSS_ENTROPY_OPTS(.reduction = (nb_reduction)p->i[0], .has_ignore_index = p->flag,
                                 .ignore_index = p->i[1], .label_smoothing = p->d[0], .weight = x[2]);
}
/* The second result (indices) of the ops that return two: the values are
 * freed. NOTE: computed in two statements, as the order in which a call's
 * arguments are evaluated is unspecified. */
static inline nb_tensor *op_second(nb_tensor *values, nb_tensor **indices)
{
    nb_free(values);
    if (values == NULL) {
        nb_free(*indices);
        return NULL;
    }
    return *indices;
}
static inline nb_tensor *op_max_dim_indices(nb_tensor *const *x, const op_params *p, bool max)
{
    nb_tensor *indices = NULL;
    nb_tensor *values  = max ? nb_max_dim(x[0], (int)p->i[0], p->flag, &indices)
                             : nb_min_dim(x[0], (int)p->i[0], p->flag, &indices);
    return op_second(values, &indices);
}
static inline nb_tensor *op_sort_indices(nb_tensor *const *x, const op_params *p)
{
    nb_tensor *indices = NULL;
    nb_tensor *values  = nb_sort(x[0], (int)p->i[0], p->flag, &indices);
    return op_second(values, &indices);
}
static inline nb_tensor *op_topk_indices(nb_tensor *const *x, const op_params *p)
{
    nb_tensor *indices = NULL;
    nb_tensor *values  = nb_topk(x[0], p->i[0], (int)p->i[1], p->flag, &indices);
    return op_second(values, &indices);
}
static inline nb_tensor *op_max_pool2d_indices(nb_tensor *const *x, const op_params *p)
{
    nb_tensor *indices = NULL;
    nb_tensor *values  = nb_max_pool2d(x[0], op_pool_opts(p), &indices);
    return op_second(values, &indices);
}
/* Shape and index ops (issue 13): piece p->i[2] of a multi-output op, or
 * (as op_piece) a [0] tensor when there is no such piece. */
static inline nb_tensor *op_pick(nb_tensor **pieces, int64_t n, int64_t want)
{
    nb_tensor *out = NULL;
    for (int64_t k = 0; k < n && k < 16; k++) {
        if (k == want) out = pieces[k];
        else nb_free(pieces[k]);
    }
    if (n >= 0 && out == NULL) out = nb_zeros(NB_SHAPE(0), NB_OPTS());
    return out;
}
static inline nb_tensor *op_unbind(nb_tensor *const *x, const op_params *p)
{
    nb_tensor *pieces[16] = { NULL };
    return op_pick(pieces, nb_unbind(x[0], (int)p->i[0], pieces, 16), p->i[1]);
}
/* sections p->i[0] (or the indices in p->shape), dim p->i[1]. */
static inline nb_tensor *op_tensor_split(nb_tensor *const *x, const op_params *p, bool indices)
{
    nb_tensor *pieces[16] = { NULL };
    int64_t    n = indices ? nb_tensor_split_indices(x[0], p->shape.dims, p->shape.ndim, (int)p->i[1], pieces, 16)
                           : nb_tensor_split(x[0], p->i[0], (int)p->i[1], pieces, 16);
    return op_pick(pieces, n, p->i[2]);
}
/* p->i[0] tensors, "xy" when p->flag. */
static inline nb_tensor *op_meshgrid(nb_tensor *const *x, const op_params *p)
{
    nb_tensor *grids[NB_MAX_DIMS] = { NULL };
    if (nb_meshgrid(x, (int)p->i[0], p->flag ? "xy" : "ij", grids) != NB_OK) return NULL;
    return op_pick(grids, p->i[0], p->i[2]);
}
/* movedim's destination: p->i[0] dims in p->i[1..]. */
static inline nb_dims op_destination(const op_params *p)
{
    nb_dims d = { .n = (int)p->i[0] };
    for (int k = 0; k < d.n && k < 9; k++) d.dims[k] = (int)p->i[1 + k];
    return d;
}
/* Piece p->i[2] of nb_split / nb_chunk (p->i[0] size or count, p->i[1] dim). */
static inline nb_tensor *op_piece(nb_tensor *const *x, const op_params *p, bool chunk)
{
    nb_tensor *pieces[16] = { NULL };
    int64_t    n = chunk ? nb_chunk(x[0], p->i[0], (int)p->i[1], pieces, 16)
                         : nb_split(x[0], p->i[0], (int)p->i[1], pieces, 16);
    nb_tensor *out = NULL;
    for (int64_t k = 0; k < n && k < 16; k++) {
        if (k == p->i[2]) out = pieces[k];
        else nb_free(pieces[k]);
    }
    if (n >= 0 && out == NULL) out = nb_zeros(NB_SHAPE(0), NB_OPTS()); /* no such piece: the script says so too */
    return out;
}

/* Second results of the ops that also return positions. */
static inline nb_tensor *op_cumulative_indices(nb_tensor *const *x, const op_params *p, bool max)
{
    nb_tensor *indices = NULL;
    nb_tensor *values  = max ? nb_cummax(x[0], (int)p->i[0], &indices) : nb_cummin(x[0], (int)p->i[0], &indices);
    return op_second(values, &indices);
}
static inline nb_tensor *op_median_indices(nb_tensor *const *x, const op_params *p, bool ignore_nan)
{
    nb_tensor *indices = NULL;
    nb_tensor *values  = ignore_nan ? nb_nanmedian_dim(x[0], (int)p->i[0], p->flag, &indices)
                                    : nb_median_dim(x[0], (int)p->i[0], p->flag, &indices);
    return op_second(values, &indices);
}
/* unique's second (p->i[0] = 1: inverse) or third (2: counts) result. */
static inline nb_tensor *op_unique_part(nb_tensor *const *x, const op_params *p, bool consecutive)
{
    nb_tensor *inverse = NULL, *counts = NULL;
    nb_tensor *values  = consecutive ? nb_unique_consecutive(x[0], &inverse, &counts)
                                     : nb_unique(x[0], &inverse, &counts);
    nb_tensor *out     = p->i[0] == 1 ? inverse : counts;
    nb_free(values);
    nb_free(p->i[0] == 1 ? counts : inverse);
    return out;
}

/* Index expression p->i[0] of nb_index / nb_index_put, with x[1] and x[2]
 * as its index tensors; scripts/make_opinfo_fixtures.py's EXPRS holds the
 * same list in Python. */
static inline nb_index_list op_index_expr(nb_tensor *const *x, int64_t id)
{
    const nb_tensor *i = x[1], *j = x[2];
    switch (id) {
    case 0: return NB_INDEX(NB_WITH(i));
    case 1: return NB_INDEX(NB_ALL, NB_WITH(i));
    case 2: return NB_INDEX(NB_WITH(i), NB_WITH(j));
    case 3: return NB_INDEX(NB_WITH(i), NB_ALL, NB_WITH(j));
    case 4: return NB_INDEX(NB_SLICE(1, NB_END, 1), NB_WITH(i));
    case 5: return NB_INDEX(NB_ELLIPSIS, NB_WITH(i));
    case 6: return NB_INDEX(NB_NEWAXIS, NB_WITH(i));
    case 7: return NB_INDEX(NB_AT(-1), NB_WITH(i));
    case 8: return NB_INDEX(NB_WITH(i), NB_NEWAXIS, NB_WITH(j));
    case 9: return NB_INDEX(NB_SLICE(-2, NB_END, 2), NB_AT(0));
    case 10: return NB_INDEX(NB_ELLIPSIS, NB_NEWAXIS, NB_SLICE(1, NB_END, 1));
    case 11: return NB_INDEX(NB_ELLIPSIS);
    case 12: return NB_INDEX(NB_SLICE(0, NB_END, 2), NB_WITH(i), NB_ELLIPSIS);
    case 13: return NB_INDEX(NB_AT(1), NB_AT(-1), NB_AT(2), NB_AT(0));
    default: return NB_INDEX(NB_AT(0));
    }
}

/* Linear algebra (issue 13). Symmetric inputs as torch's OpInfos make them
 * for cholesky and eigh: (x + x^T) / 2, so that finite differences move
 * both triangles. Eigenvectors and singular vectors are known up to sign:
 * the rows compare V * V and U Vh, which do not depend on it. */
static inline nb_tensor *op_symmetric(const nb_tensor *x)
{
    if (!nb_dtype_is_floating(nb_dtype_of(x))) return nb_clone(x); /* for the dtype refusal */
    nb_tensor *t = nb_transpose(x, -1, -2), *sum = t ? nb_add(x, t) : NULL;
    nb_tensor *out = sum ? nb_mul_scalar(sum, 0.5) : NULL;
    nb_free(t);
    nb_free(sum);
    return out;
}
/* which: 0 cholesky, 1 eigh's values, 2 eigvalsh, 3 eigh's V * V. */
static inline nb_tensor *op_on_symmetric(nb_tensor *const *x, const op_params *p, int which)
{
    nb_tensor *a = op_symmetric(x[0]), *out = NULL, *V = NULL, *w = NULL;
    if (a == NULL) return NULL;
    switch (which) {
    case 0: out = nb_linalg_cholesky(a, p->flag); break;
    case 1: out = nb_linalg_eigh(a, p->flag, NULL); break;
    case 2: out = nb_linalg_eigvalsh(a, p->flag); break;
    default:
        w   = nb_linalg_eigh(a, p->flag, &V);
        out = w ? nb_mul(V, V) : NULL;
        nb_free(w);
        nb_free(V);
    }
    nb_free(a);
    return out;
}
static inline nb_tensor *op_slogdet(nb_tensor *const *x, bool sign)
{
    nb_tensor *logabs = NULL, *s = nb_linalg_slogdet(x[0], &logabs);
    if (sign) return op_second(logabs, &s);
    return op_second(s, &logabs);
}
static inline nb_tensor *op_qr(nb_tensor *const *x, const op_params *p, bool r)
{
    nb_tensor *R = NULL, *Q = nb_linalg_qr(x[0], p->flag, &R);
    return r ? op_second(Q, &R) : op_second(R, &Q);
}
static inline nb_tensor *op_svd(nb_tensor *const *x, const op_params *p, bool values)
{
    nb_tensor *S = NULL, *Vh = NULL, *U = nb_linalg_svd(x[0], p->flag, &S, &Vh);
    if (U == NULL) return NULL;
    if (values) {
        nb_free(U);
        nb_free(Vh);
        return S;
    }
    nb_free(S);
    if (p->flag) { /* full matrices: U Vh needs the reduced parts */
        int64_t m = nb_size(U, -2), n = nb_size(Vh, -1), k = m < n ? m : n;
        nb_tensor *u = nb_narrow(U, -1, 0, k), *vh = nb_narrow(Vh, -2, 0, k);
        nb_free(U);
        nb_free(Vh);
        U = u, Vh = vh;
    }
    nb_tensor *out = nb_matmul(U, Vh);
    nb_free(U);
    nb_free(Vh);
    return out;
}
/* p->i[0] indexes these; the script reads the list from here. */
static const char *const op_einsum_equations[] = {
    "ij,jk->ik", "ij,jk", "ii", "ii->i", "ij->ji", "bij,bjk->bik", "i,j->ij", "i,i", "ij,ij->", "ijk->kji",
    "...ij,...jk->...ik", "ij,jk,kl->il", "bn,anm,bm->ba", "ji", "iij->ji", "ab,ba", "i,i->i", "ik,jk",
};
static inline nb_tensor *op_einsum(nb_tensor *const *x, const op_params *p)
{
    int count = 0;
    while (count < 3 && x[count] != NULL) count++;
    return nb_einsum(op_einsum_equations[p->i[0]], x, count);
}

#endif /* OP_INFO_H */

#ifdef OP
/* clang-format off */
/* Elementwise unary (ops.def) */
OP(neg,         1, UNARY, NUMERIC, ANY, DIFF,    nb_neg(x[0]))
OP(abs,         1, UNARY, NUMERIC, ANY, FIRST,   nb_abs(x[0]))
OP(sign,        1, UNARY, NUMERIC, ANY, FIRST,   nb_sign(x[0]))
OP(exp,         1, UNARY, FLOAT,   ANY, DIFF,    nb_exp(x[0]))
OP(log,         1, UNARY, FLOAT,   POS, DIFF,    nb_log(x[0]))
OP(log1p,       1, UNARY, FLOAT,   POS, DIFF,    nb_log1p(x[0]))
OP(expm1,       1, UNARY, FLOAT,   ANY, DIFF,    nb_expm1(x[0]))
OP(sqrt,        1, UNARY, FLOAT,   POS, DIFF,    nb_sqrt(x[0]))
OP(rsqrt,       1, UNARY, FLOAT,   POS, DIFF,    nb_rsqrt(x[0]))
OP(sin,         1, UNARY, FLOAT,   ANY, DIFF,    nb_sin(x[0]))
OP(cos,         1, UNARY, FLOAT,   ANY, DIFF,    nb_cos(x[0]))
OP(tanh,        1, UNARY, FLOAT,   ANY, DIFF,    nb_tanh(x[0]))
OP(sigmoid,     1, UNARY, FLOAT,   ANY, DIFF,    nb_sigmoid(x[0]))
OP(relu,        1, UNARY, NUMERIC, ANY, FIRST,   nb_relu(x[0]))
OP(silu,        1, UNARY, FLOAT,   ANY, DIFF,    nb_silu(x[0]))
OP(erf,         1, UNARY, FLOAT,   ANY, DIFF,    nb_erf(x[0]))
OP(gelu,        1, UNARY, FLOAT,   ANY, DIFF,    nb_gelu(x[0], p->flag))
OP(softplus,    1, UNARY, FLOAT,   ANY, DIFF,    nb_softplus(x[0], p->d[0], p->d[1]))
OP(clamp,       1, UNARY, NUMERIC, ANY, FIRST,   nb_clamp(x[0], p->d[0], p->d[1]))
OP(logical_not, 1, UNARY, ALL,     ANY, NONDIFF, nb_logical_not(x[0]))
OP(isnan,       1, UNARY, ALL,     ANY, NONDIFF, nb_isnan(x[0]))
OP(isinf,       1, UNARY, ALL,     ANY, NONDIFF, nb_isinf(x[0]))
OP(isfinite,    1, UNARY, ALL,     ANY, NONDIFF, nb_isfinite(x[0]))
/* Elementwise binary (ops.def) and where */
OP(add,          2, BINARY, ALL,     ANY, DIFF,    nb_add(x[0], x[1]))
OP(sub,          2, BINARY, NUMERIC, ANY, DIFF,    nb_sub(x[0], x[1]))
OP(mul,          2, BINARY, ALL,     ANY, DIFF,    nb_mul(x[0], x[1]))
OP(div,          2, BINARY, ALL,     NZ,  DIFF,    nb_div(x[0], x[1]))
OP(floor_divide, 2, BINARY, NUMERIC, NZ,  FIRST,   nb_floor_divide(x[0], x[1]))
OP(remainder,    2, BINARY, NUMERIC, NZ,  FIRST,   nb_remainder(x[0], x[1]))
OP(pow,          2, BINARY, NUMERIC, POW, DIFF,    nb_pow(x[0], x[1]))
OP(maximum,      2, BINARY, ALL,     ANY, FIRST,   nb_maximum(x[0], x[1]))
OP(minimum,      2, BINARY, ALL,     ANY, FIRST,   nb_minimum(x[0], x[1]))
OP(eq,           2, BINARY, ALL,     ANY, NONDIFF, nb_eq(x[0], x[1]))
OP(ne,           2, BINARY, ALL,     ANY, NONDIFF, nb_ne(x[0], x[1]))
OP(lt,           2, BINARY, ALL,     ANY, NONDIFF, nb_lt(x[0], x[1]))
OP(le,           2, BINARY, ALL,     ANY, NONDIFF, nb_le(x[0], x[1]))
OP(gt,           2, BINARY, ALL,     ANY, NONDIFF, nb_gt(x[0], x[1]))
OP(ge,           2, BINARY, ALL,     ANY, NONDIFF, nb_ge(x[0], x[1]))
OP(logical_and,  2, BINARY, ALL,     ANY, NONDIFF, nb_logical_and(x[0], x[1]))
OP(logical_or,   2, BINARY, ALL,     ANY, NONDIFF, nb_logical_or(x[0], x[1]))
OP(where,        3, TERNARY, ALL,    ANY, DIFF,    nb_where(x[0], x[1], x[2]))
/* Tensor and a Python-style number p->d[0] */
OP(add_scalar,          1, SCALAR, ALL,     ANY, DIFF,    nb_add_scalar(x[0], p->d[0]))
OP(sub_scalar,          1, SCALAR, NUMERIC, ANY, DIFF,    nb_sub_scalar(x[0], p->d[0]))
OP(mul_scalar,          1, SCALAR, ALL,     ANY, DIFF,    nb_mul_scalar(x[0], p->d[0]))
OP(div_scalar,          1, SCALAR, ALL,     ANY, DIFF,    nb_div_scalar(x[0], p->d[0]))
OP(pow_scalar,          1, SCALAR, NUMERIC, POS, DIFF,    nb_pow_scalar(x[0], p->d[0]))
OP(remainder_scalar,    1, SCALAR, NUMERIC, ANY, FIRST,   nb_remainder_scalar(x[0], p->d[0]))
OP(floor_divide_scalar, 1, SCALAR, NUMERIC, ANY, FIRST,   nb_floor_divide_scalar(x[0], p->d[0]))
OP(maximum_scalar,      1, SCALAR, ALL,     ANY, FIRST,   nb_maximum_scalar(x[0], p->d[0]))
OP(minimum_scalar,      1, SCALAR, ALL,     ANY, FIRST,   nb_minimum_scalar(x[0], p->d[0]))
OP(eq_scalar,           1, SCALAR, ALL,     ANY, NONDIFF, nb_eq_scalar(x[0], p->d[0]))
OP(ne_scalar,           1, SCALAR, ALL,     ANY, NONDIFF, nb_ne_scalar(x[0], p->d[0]))
OP(lt_scalar,           1, SCALAR, ALL,     ANY, NONDIFF, nb_lt_scalar(x[0], p->d[0]))
OP(le_scalar,           1, SCALAR, ALL,     ANY, NONDIFF, nb_le_scalar(x[0], p->d[0]))
OP(gt_scalar,           1, SCALAR, ALL,     ANY, NONDIFF, nb_gt_scalar(x[0], p->d[0]))
OP(ge_scalar,           1, SCALAR, ALL,     ANY, NONDIFF, nb_ge_scalar(x[0], p->d[0]))
OP(rsub_scalar,         1, SCALAR, NUMERIC, ANY, DIFF,    nb_rsub_scalar(x[0], p->d[0]))
OP(rdiv_scalar,         1, SCALAR, ALL,     NZ,  DIFF,    nb_rdiv_scalar(x[0], p->d[0]))
/* In-place forms: the output compared is x[0]'s whole base afterwards */
OP(add_,            2, INPLACE_BINARY, ALL,     ANY, DIFF,  nb_add_(x[0], x[1]))
OP(sub_,            2, INPLACE_BINARY, NUMERIC, ANY, DIFF,  nb_sub_(x[0], x[1]))
OP(mul_,            2, INPLACE_BINARY, ALL,     ANY, DIFF,  nb_mul_(x[0], x[1]))
OP(div_,            2, INPLACE_BINARY, ALL,     NZ,  DIFF,  nb_div_(x[0], x[1]))
OP(copy_,           2, INPLACE_BINARY, ALL,     ANY, DIFF,  nb_copy_(x[0], x[1]))
OP(add_scalar_,     1, INPLACE_SCALAR, ALL,     ANY, DIFF,  nb_add_scalar_(x[0], p->d[0]))
OP(sub_scalar_,     1, INPLACE_SCALAR, NUMERIC, ANY, DIFF,  nb_sub_scalar_(x[0], p->d[0]))
OP(mul_scalar_,     1, INPLACE_SCALAR, ALL,     ANY, DIFF,  nb_mul_scalar_(x[0], p->d[0]))
OP(div_scalar_,     1, INPLACE_SCALAR, ALL,     ANY, DIFF,  nb_div_scalar_(x[0], p->d[0]))
OP(fill_,           1, INPLACE_SCALAR, ALL,     ANY, DIFF,  nb_fill_(x[0], p->d[0]))
OP(neg_,            1, INPLACE_UNARY, NUMERIC, ANY, DIFF,  nb_neg_(x[0]))
OP(abs_,            1, INPLACE_UNARY, NUMERIC, ANY, FIRST, nb_abs_(x[0]))
OP(sign_,           1, INPLACE_UNARY, NUMERIC, ANY, FIRST, nb_sign_(x[0]))
OP(exp_,            1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_exp_(x[0]))
OP(log_,            1, INPLACE_UNARY, FLOAT,   POS, DIFF,  nb_log_(x[0]))
OP(log1p_,          1, INPLACE_UNARY, FLOAT,   POS, DIFF,  nb_log1p_(x[0]))
OP(expm1_,          1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_expm1_(x[0]))
OP(sqrt_,           1, INPLACE_UNARY, FLOAT,   POS, DIFF,  nb_sqrt_(x[0]))
OP(rsqrt_,          1, INPLACE_UNARY, FLOAT,   POS, DIFF,  nb_rsqrt_(x[0]))
OP(sin_,            1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_sin_(x[0]))
OP(cos_,            1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_cos_(x[0]))
OP(tanh_,           1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_tanh_(x[0]))
OP(sigmoid_,        1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_sigmoid_(x[0]))
OP(relu_,           1, INPLACE_UNARY, NUMERIC, ANY, FIRST, nb_relu_(x[0]))
OP(silu_,           1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_silu_(x[0]))
OP(clamp_,          1, INPLACE_UNARY, NUMERIC, ANY, FIRST, nb_clamp_(x[0], p->d[0], p->d[1]))
/* Reductions */
OP(sum,           1, REDUCE,      ALL,     ANY, DIFF,    nb_sum(x[0]))
OP(mean,          1, REDUCE,      FLOAT,   ANY, DIFF,    nb_mean(x[0]))
OP(prod,          1, REDUCE,      ALL,     ANY, DIFF,    nb_prod(x[0]))
OP(max,           1, REDUCE,      ALL,     ANY, FIRST,   nb_max(x[0]))
OP(min,           1, REDUCE,      ALL,     ANY, FIRST,   nb_min(x[0]))
OP(argmax,        1, REDUCE,      ALL,     ANY, NONDIFF, nb_argmax(x[0]))
OP(argmin,        1, REDUCE,      ALL,     ANY, NONDIFF, nb_argmin(x[0]))
OP(var,           1, REDUCE,      FLOAT,   ANY, DIFF,    nb_var(x[0], p->i[0]))
OP(std,           1, REDUCE,      FLOAT,   ANY, DIFF,    nb_std(x[0], p->i[0]))
OP(norm,          1, REDUCE,      FLOAT,   ANY, FIRST,   nb_norm(x[0], p->d[0]))
OP(all,           1, REDUCE,      ALL,     ANY, NONDIFF, nb_all(x[0]))
OP(any,           1, REDUCE,      ALL,     ANY, NONDIFF, nb_any(x[0]))
OP(sum_dims,      1, REDUCE_DIMS, ALL,     ANY, DIFF,    nb_sum_dims(x[0], p->dims, p->flag))
OP(mean_dims,     1, REDUCE_DIMS, FLOAT,   ANY, DIFF,    nb_mean_dims(x[0], p->dims, p->flag))
OP(prod_dims,     1, REDUCE_DIMS, ALL,     ANY, DIFF,    nb_prod_dims(x[0], p->dims, p->flag))
OP(var_dims,      1, REDUCE_DIMS, FLOAT,   ANY, DIFF,    nb_var_dims(x[0], p->dims, p->i[0], p->flag))
OP(std_dims,      1, REDUCE_DIMS, FLOAT,   ANY, DIFF,    nb_std_dims(x[0], p->dims, p->i[0], p->flag))
OP(logsumexp,     1, REDUCE_DIMS, FLOAT,   ANY, DIFF,    nb_logsumexp(x[0], p->dims, p->flag))
OP(norm_dims,     1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_norm_dims(x[0], p->d[0], p->dims, p->flag))
OP(all_dims,      1, REDUCE_DIMS, ALL,     ANY, NONDIFF, nb_all_dims(x[0], p->dims, p->flag))
OP(any_dims,      1, REDUCE_DIMS, ALL,     ANY, NONDIFF, nb_any_dims(x[0], p->dims, p->flag))
OP(max_dim,       1, DIM,         ALL,     ANY, FIRST,   nb_max_dim(x[0], (int)p->i[0], p->flag, NULL))
OP(min_dim,       1, DIM,         ALL,     ANY, FIRST,   nb_min_dim(x[0], (int)p->i[0], p->flag, NULL))
OP(max_dim_indices, 1, DIM,       ALL,     ANY, NONDIFF, op_max_dim_indices(x, p, true))
OP(min_dim_indices, 1, DIM,       ALL,     ANY, NONDIFF, op_max_dim_indices(x, p, false))
OP(argmax_dim,    1, DIM,         ALL,     ANY, NONDIFF, nb_argmax_dim(x[0], (int)p->i[0], p->flag))
OP(argmin_dim,    1, DIM,         ALL,     ANY, NONDIFF, nb_argmin_dim(x[0], (int)p->i[0], p->flag))
OP(cumsum,        1, DIM,         ALL,     ANY, DIFF,    nb_cumsum(x[0], (int)p->i[0]))
OP(softmax,       1, DIM,         FLOAT,   ANY, DIFF,    nb_softmax(x[0], (int)p->i[0]))
OP(log_softmax,   1, DIM,         FLOAT,   ANY, DIFF,    nb_log_softmax(x[0], (int)p->i[0]))
/* Reductions made from the rows, and order statistics (statistics.c) */
OP(amax,              1, REDUCE_DIMS, ALL,     ANY, FIRST,   nb_amax(x[0], p->dims, p->flag))
OP(amin,              1, REDUCE_DIMS, ALL,     ANY, FIRST,   nb_amin(x[0], p->dims, p->flag))
OP(nansum,            1, REDUCE,      ALL,     ANY, DIFF,    nb_nansum(x[0]))
OP(nanmean,           1, REDUCE,      FLOAT,   ANY, DIFF,    nb_nanmean(x[0]))
OP(nansum_dims,       1, REDUCE_DIMS, ALL,     ANY, DIFF,    nb_nansum_dims(x[0], p->dims, p->flag))
OP(nanmean_dims,      1, REDUCE_DIMS, FLOAT,   ANY, DIFF,    nb_nanmean_dims(x[0], p->dims, p->flag))
OP(cumprod,           1, DIM,         ALL,     ANY, DIFF,    nb_cumprod(x[0], (int)p->i[0]))
OP(cummax,            1, DIM,         ALL,     ANY, FIRST,   nb_cummax(x[0], (int)p->i[0], NULL))
OP(cummin,            1, DIM,         ALL,     ANY, FIRST,   nb_cummin(x[0], (int)p->i[0], NULL))
OP(cummax_indices,    1, DIM,         ALL,     ANY, NONDIFF, op_cumulative_indices(x, p, true))
OP(cummin_indices,    1, DIM,         ALL,     ANY, NONDIFF, op_cumulative_indices(x, p, false))
OP(median,            1, REDUCE,      NUMERIC, ANY, FIRST,   nb_median(x[0]))
OP(nanmedian,         1, REDUCE,      NUMERIC, ANY, FIRST,   nb_nanmedian(x[0]))
OP(median_dim,        1, DIM,         NUMERIC, ANY, FIRST,   nb_median_dim(x[0], (int)p->i[0], p->flag, NULL))
OP(nanmedian_dim,     1, DIM,         NUMERIC, ANY, FIRST,   nb_nanmedian_dim(x[0], (int)p->i[0], p->flag, NULL))
OP(median_dim_indices,    1, DIM,     NUMERIC, ANY, NONDIFF, op_median_indices(x, p, false))
OP(nanmedian_dim_indices, 1, DIM,     NUMERIC, ANY, NONDIFF, op_median_indices(x, p, true))
OP(quantile,          1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_quantile(x[0], p->d[0], p->dims, p->flag, NB_QUANTILE_LINEAR))
OP(quantile_lower,    1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_quantile(x[0], p->d[0], p->dims, p->flag, NB_QUANTILE_LOWER))
OP(quantile_higher,   1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_quantile(x[0], p->d[0], p->dims, p->flag, NB_QUANTILE_HIGHER))
OP(quantile_midpoint, 1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_quantile(x[0], p->d[0], p->dims, p->flag, NB_QUANTILE_MIDPOINT))
OP(quantile_nearest,  1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_quantile(x[0], p->d[0], p->dims, p->flag, NB_QUANTILE_NEAREST))
OP(nanquantile,       1, REDUCE_DIMS, FLOAT,   ANY, FIRST,   nb_nanquantile(x[0], p->d[0], p->dims, p->flag, NB_QUANTILE_LINEAR))
OP(quantile_tensor,   2, QUANTILE,    FLOAT,   ANY, FIRST,   nb_quantile_tensor(x[0], x[1], p->dims, p->flag, (nb_quantile_interpolation)p->i[0]))
OP(nanquantile_tensor, 2, QUANTILE,   FLOAT,   ANY, FIRST,   nb_nanquantile_tensor(x[0], x[1], p->dims, p->flag, (nb_quantile_interpolation)p->i[0]))
OP(unique,            1, REDUCE,      ALL,     ANY, NONDIFF, nb_unique(x[0], NULL, NULL))
OP(unique_inverse,    1, REDUCE,      ALL,     ANY, NONDIFF, op_unique_part(x, &(op_params){ .i = { 1 } }, false))
OP(unique_counts,     1, REDUCE,      ALL,     ANY, NONDIFF, op_unique_part(x, &(op_params){ .i = { 2 } }, false))
OP(unique_consecutive, 1, REDUCE,     ALL,     ANY, NONDIFF, nb_unique_consecutive(x[0], NULL, NULL))
OP(unique_consecutive_inverse, 1, REDUCE, ALL, ANY, NONDIFF, op_unique_part(x, &(op_params){ .i = { 1 } }, true))
OP(unique_consecutive_counts,  1, REDUCE, ALL, ANY, NONDIFF, op_unique_part(x, &(op_params){ .i = { 2 } }, true))
OP(bincount,          2, COUNT,       ALL,     ANY, NONDIFF, nb_bincount(x[0], x[1], p->i[0]))
OP(histc,             1, COUNT,       FLOAT,   ANY, NONDIFF, nb_histc(x[0], p->i[0], p->d[0], p->d[1]))
/* int64 numbers: the _i64 twins of the _scalar forms, the number in p->i[0] */
OP(add_scalar_i64, 1, SCALAR_I64, ALL, ANY, DIFF, nb_add_scalar_i64(x[0], p->i[0]))
OP(sub_scalar_i64, 1, SCALAR_I64, NUMERIC, ANY, DIFF, nb_sub_scalar_i64(x[0], p->i[0]))
OP(mul_scalar_i64, 1, SCALAR_I64, ALL, ANY, DIFF, nb_mul_scalar_i64(x[0], p->i[0]))
OP(div_scalar_i64, 1, SCALAR_I64, ALL, ANY, DIFF, nb_div_scalar_i64(x[0], p->i[0]))
OP(floor_divide_scalar_i64, 1, SCALAR_I64, NUMERIC, ANY, FIRST, nb_floor_divide_scalar_i64(x[0], p->i[0]))
OP(remainder_scalar_i64, 1, SCALAR_I64, NUMERIC, ANY, FIRST, nb_remainder_scalar_i64(x[0], p->i[0]))
OP(pow_scalar_i64, 1, SCALAR_I64, NUMERIC, POS, DIFF, nb_pow_scalar_i64(x[0], p->i[0]))
OP(maximum_scalar_i64, 1, SCALAR_I64, ALL, ANY, FIRST, nb_maximum_scalar_i64(x[0], p->i[0]))
OP(minimum_scalar_i64, 1, SCALAR_I64, ALL, ANY, FIRST, nb_minimum_scalar_i64(x[0], p->i[0]))
OP(eq_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_eq_scalar_i64(x[0], p->i[0]))
OP(ne_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_ne_scalar_i64(x[0], p->i[0]))
OP(lt_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_lt_scalar_i64(x[0], p->i[0]))
OP(le_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_le_scalar_i64(x[0], p->i[0]))
OP(gt_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_gt_scalar_i64(x[0], p->i[0]))
OP(ge_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_ge_scalar_i64(x[0], p->i[0]))
OP(logical_and_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_logical_and_scalar_i64(x[0], p->i[0]))
OP(logical_or_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_logical_or_scalar_i64(x[0], p->i[0]))
OP(fmod_scalar_i64, 1, SCALAR_I64, NUMERIC, ANY, FIRST, nb_fmod_scalar_i64(x[0], p->i[0]))
OP(atan2_scalar_i64, 1, SCALAR_I64, ALL, ANY, DIFF, nb_atan2_scalar_i64(x[0], p->i[0]))
OP(copysign_scalar_i64, 1, SCALAR_I64, ALL, ANY, FIRST, nb_copysign_scalar_i64(x[0], p->i[0]))
OP(hypot_scalar_i64, 1, SCALAR_I64, FLOAT, ANY, DIFF, nb_hypot_scalar_i64(x[0], p->i[0]))
OP(xlogy_scalar_i64, 1, SCALAR_I64, ALL, ANY, DIFF, nb_xlogy_scalar_i64(x[0], p->i[0]))
OP(logical_xor_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_logical_xor_scalar_i64(x[0], p->i[0]))
OP(bitwise_and_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_bitwise_and_scalar_i64(x[0], p->i[0]))
OP(bitwise_or_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_bitwise_or_scalar_i64(x[0], p->i[0]))
OP(bitwise_xor_scalar_i64, 1, SCALAR_I64, ALL, ANY, NONDIFF, nb_bitwise_xor_scalar_i64(x[0], p->i[0]))
OP(rsub_scalar_i64, 1, SCALAR_I64, NUMERIC, ANY, DIFF, nb_rsub_scalar_i64(x[0], p->i[0]))
OP(add_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, DIFF, nb_add_scalar_i64_(x[0], p->i[0]))
OP(sub_scalar_i64_, 1, INPLACE_SCALAR_I64, NUMERIC, ANY, DIFF, nb_sub_scalar_i64_(x[0], p->i[0]))
OP(mul_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, DIFF, nb_mul_scalar_i64_(x[0], p->i[0]))
OP(div_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, DIFF, nb_div_scalar_i64_(x[0], p->i[0]))
OP(fmod_scalar_i64_, 1, INPLACE_SCALAR_I64, NUMERIC, ANY, FIRST, nb_fmod_scalar_i64_(x[0], p->i[0]))
OP(atan2_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, DIFF, nb_atan2_scalar_i64_(x[0], p->i[0]))
OP(copysign_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, FIRST, nb_copysign_scalar_i64_(x[0], p->i[0]))
OP(hypot_scalar_i64_, 1, INPLACE_SCALAR_I64, FLOAT, ANY, DIFF, nb_hypot_scalar_i64_(x[0], p->i[0]))
OP(xlogy_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, DIFF, nb_xlogy_scalar_i64_(x[0], p->i[0]))
OP(bitwise_and_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, NONDIFF, nb_bitwise_and_scalar_i64_(x[0], p->i[0]))
OP(bitwise_or_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, NONDIFF, nb_bitwise_or_scalar_i64_(x[0], p->i[0]))
OP(bitwise_xor_scalar_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, NONDIFF, nb_bitwise_xor_scalar_i64_(x[0], p->i[0]))
OP(fill_i64_, 1, INPLACE_SCALAR_I64, ALL, ANY, DIFF, nb_fill_i64_(x[0], p->i[0]))
/* Index expressions (advanced_index.c): p->i[0] picks the expression */
OP(index,             3, INDEX_EXPR,  ALL,     ANY, DIFF,    nb_index(x[0], op_index_expr(x, p->i[0])))
OP(index_put,         4, INDEX_EXPR,  ALL,     ANY, DIFF,    nb_index_put(x[0], op_index_expr(x, p->i[0]), x[3], p->flag))
OP(index_put_,        4, INDEX_EXPR,  ALL,     ANY, DIFF,    nb_index_put_(x[0], op_index_expr(x, p->i[0]), x[3], p->flag))
/* Views and layout (x[0] may itself be a view: layouts apply first) */
OP(clone,         1, VIEW, ALL, ANY, DIFF,    nb_clone(x[0]))
OP(contiguous,    1, VIEW, ALL, ANY, DIFF,    nb_contiguous(x[0]))
OP(detach,        1, VIEW, ALL, ANY, NONDIFF, nb_detach(x[0]))
OP(reshape,       1, VIEW, ALL, ANY, DIFF,    nb_reshape(x[0], p->shape))
OP(view,          1, VIEW, ALL, ANY, DIFF,    nb_view(x[0], p->shape))
OP(transpose,     1, VIEW, ALL, ANY, DIFF,    nb_transpose(x[0], (int)p->i[0], (int)p->i[1]))
OP(permute,       1, VIEW, ALL, ANY, DIFF,    nb_permute(x[0], p->dims))
OP(t,             1, VIEW, ALL, ANY, DIFF,    nb_t(x[0]))
OP(expand,        1, VIEW, ALL, ANY, DIFF,    nb_expand(x[0], p->shape))
OP(broadcast_to,  1, VIEW, ALL, ANY, DIFF,    nb_broadcast_to(x[0], p->shape))
OP(squeeze,       1, VIEW, ALL, ANY, DIFF,    nb_squeeze(x[0]))
OP(squeeze_dim,   1, VIEW, ALL, ANY, DIFF,    nb_squeeze_dim(x[0], (int)p->i[0]))
OP(unsqueeze,     1, VIEW, ALL, ANY, DIFF,    nb_unsqueeze(x[0], (int)p->i[0]))
OP(flatten,       1, VIEW, ALL, ANY, DIFF,    nb_flatten(x[0], (int)p->i[0], (int)p->i[1]))
OP(unflatten,     1, VIEW, ALL, ANY, DIFF,    nb_unflatten(x[0], (int)p->i[0], p->shape))
OP(narrow,        1, VIEW, ALL, ANY, DIFF,    nb_narrow(x[0], (int)p->i[0], p->i[1], p->i[2]))
OP(slice,         1, VIEW, ALL, ANY, DIFF,    nb_slice(x[0], (int)p->i[0], p->i[1], p->i[2], p->i[3]))
OP(select,        1, VIEW, ALL, ANY, DIFF,    nb_select(x[0], (int)p->i[0], p->i[1]))
OP(diagonal,      1, VIEW, ALL, ANY, DIFF,    nb_diagonal(x[0], p->i[0], (int)p->i[1], (int)p->i[2]))
OP(split,         1, VIEW, ALL, ANY, DIFF,    op_piece(x, p, false))
OP(chunk,         1, VIEW, ALL, ANY, DIFF,    op_piece(x, p, true))
OP(to_dtype,      1, CAST, ALL, ANY, DIFF,    nb_to_dtype(x[0], (nb_dtype)p->i[0]))
OP(to,            1, CAST, ALL, ANY, DIFF,    nb_to(x[0], NB_DEVICE_CPU))
/* Linear algebra */
OP(matmul,        2, MATMUL, ALL,     ANY, DIFF, nb_matmul(x[0], x[1]))
OP(mm,            2, MATMUL, ALL,     ANY, DIFF, nb_mm(x[0], x[1]))
OP(bmm,           2, MATMUL, ALL,     ANY, DIFF, nb_bmm(x[0], x[1]))
OP(dot,           2, MATMUL, ALL,     ANY, DIFF, nb_dot(x[0], x[1]))
OP(outer,         2, MATMUL, ALL,     ANY, DIFF, nb_outer(x[0], x[1]))
/* Joining and indexing (index tensors are int64 inputs, masks bool) */
OP(cat,           3, JOIN,  ALL, ANY, DIFF,    nb_cat(x, (int)p->i[0], (int)p->i[1]))
OP(stack,         3, JOIN,  ALL, ANY, DIFF,    nb_stack(x, (int)p->i[0], (int)p->i[1]))
OP(index_select,  2, INDEX, ALL, ANY, DIFF,    nb_index_select(x[0], (int)p->i[0], x[1]))
OP(gather,        2, INDEX, ALL, ANY, DIFF,    nb_gather(x[0], (int)p->i[0], x[1]))
OP(scatter,       3, INDEX, ALL, ANY, DIFF,    nb_scatter(x[0], (int)p->i[0], x[1], x[2]))
OP(scatter_add,   3, INDEX, ALL, ANY, DIFF,    nb_scatter_add(x[0], (int)p->i[0], x[1], x[2]))
OP(scatter_,      3, INDEX, ALL, ANY, DIFF,    nb_scatter_(x[0], (int)p->i[0], x[1], x[2]))
OP(scatter_add_,  3, INDEX, ALL, ANY, DIFF,    nb_scatter_add_(x[0], (int)p->i[0], x[1], x[2]))
OP(masked_fill,   2, INDEX, ALL, ANY, DIFF,    nb_masked_fill(x[0], x[1], p->d[0]))
OP(masked_select, 2, INDEX, ALL, ANY, DIFF,    nb_masked_select(x[0], x[1]))
OP(nonzero,       1, INDEX, ALL, ANY, NONDIFF, nb_nonzero(x[0]))
OP(one_hot,       1, INDEX, ALL, ANY, NONDIFF, nb_one_hot(x[0], p->i[0]))
OP(sort,          1, SORT,  ALL, ANY, FIRST,   nb_sort(x[0], (int)p->i[0], p->flag, NULL))
OP(sort_indices,  1, SORT,  ALL, ANY, NONDIFF, op_sort_indices(x, p))
OP(topk,          1, SORT,  ALL, ANY, FIRST,   nb_topk(x[0], p->i[0], (int)p->i[1], p->flag, NULL))
OP(topk_indices,  1, SORT,  ALL, ANY, NONDIFF, op_topk_indices(x, p))
/* Functional layers (nn.h) */
OP(linear,        3, NN, FLOAT, ANY, DIFF,    nb_linear(x[0], x[1], x[2]))
OP(conv2d,        3, NN, FLOAT, ANY, DIFF,    nb_conv2d(x[0], x[1], x[2], op_conv_opts(p)))
OP(conv_transpose2d, 3, NN, FLOAT, ANY, DIFF, nb_conv_transpose2d(x[0], x[1], x[2], op_conv_opts(p)))
OP(max_pool2d,    1, NN, FLOAT, ANY, FIRST,   nb_max_pool2d(x[0], op_pool_opts(p), NULL))
OP(max_pool2d_indices, 1, NN, FLOAT, ANY, NONDIFF, op_max_pool2d_indices(x, p))
OP(avg_pool2d,    1, NN, FLOAT, ANY, DIFF,    nb_avg_pool2d(x[0], op_pool_opts(p)))
OP(adaptive_avg_pool2d, 1, NN, FLOAT, ANY, DIFF, nb_adaptive_avg_pool2d(x[0], p->i[0], p->i[1]))
OP(batch_norm,    5, NN, FLOAT, ANY, DIFF,    nb_batch_norm(x[0], x[1], x[2], x[3], x[4], p->flag, p->d[0], p->d[1]))
OP(layer_norm,    3, NN, FLOAT, ANY, DIFF,    nb_layer_norm(x[0], p->shape, x[1], x[2], p->d[0]))
OP(group_norm,    3, NN, FLOAT, ANY, DIFF,    nb_group_norm(x[0], p->i[0], x[1], x[2], p->d[0]))
OP(dropout,       1, NN, FLOAT, ANY, DIFF,    nb_dropout(x[0], p->d[0], p->flag))
OP(embedding,     2, NN, ALL,   ANY, DIFF,    nb_embedding(x[0], x[1]))
OP(pad,           1, NN, ALL,   ANY, DIFF,    nb_pad(x[0], p->shape.dims, p->shape.ndim, p->d[0]))
/* Losses (nn.h); p->i[0] is the reduction */
OP(mse_loss,      2, LOSS, FLOAT, ANY, DIFF,  nb_mse_loss(x[0], x[1], (nb_reduction)p->i[0]))
OP(l1_loss,       2, LOSS, FLOAT, ANY, FIRST, nb_l1_loss(x[0], x[1], (nb_reduction)p->i[0]))
OP(smooth_l1_loss, 2, LOSS, FLOAT, ANY, FIRST, nb_smooth_l1_loss(x[0], x[1], (nb_reduction)p->i[0], p->d[0]))
OP(cross_entropy, 3, LOSS, FLOAT, ANY, DIFF,  nb_cross_entropy(x[0], x[1], op_ce_opts(x, p)))
OP(nll_loss,      3, LOSS, FLOAT, ANY, DIFF,  nb_nll_loss(x[0], x[1], op_ce_opts(x, p)))
OP(binary_cross_entropy, 3, LOSS, FLOAT, ANY, DIFF, nb_binary_cross_entropy(x[0], x[1], x[2], (nb_reduction)p->i[0]))
OP(binary_cross_entropy_with_logits, 4, LOSS, FLOAT, ANY, DIFF, nb_binary_cross_entropy_with_logits(x[0], x[1], x[2], x[3], (nb_reduction)p->i[0]))
OP(kl_div,        2, LOSS, FLOAT, ANY, DIFF,  nb_kl_div(x[0], x[1], (nb_reduction)p->i[0], p->flag))
/* Declared when -Wmissing-prototypes found them generated but undeclared;
 * last, so that the rows above keep their samples. */
OP(logical_and_scalar,  1, SCALAR, ALL,     ANY, NONDIFF, nb_logical_and_scalar(x[0], p->d[0]))
OP(logical_or_scalar,   1, SCALAR, ALL,     ANY, NONDIFF, nb_logical_or_scalar(x[0], p->d[0]))
OP(erf_,            1, INPLACE_UNARY, FLOAT,   ANY, DIFF,  nb_erf_(x[0]))
/* Shape and index ops (issue 13) */
OP(flip,            1, SHAPE, ALL,     ANY, DIFF, nb_flip(x[0], p->dims))
OP(roll,            1, SHAPE, ALL,     ANY, DIFF, nb_roll(x[0], p->shape, p->dims))
OP(movedim,         1, SHAPE, ALL,     ANY, DIFF, nb_movedim(x[0], p->dims, op_destination(p)))
OP(moveaxis,        1, SHAPE, ALL,     ANY, DIFF, nb_moveaxis(x[0], p->dims, op_destination(p)))
OP(swapaxes,        1, SHAPE, ALL,     ANY, DIFF, nb_swapaxes(x[0], (int)p->i[0], (int)p->i[1]))
OP(swapdims,        1, SHAPE, ALL,     ANY, DIFF, nb_swapdims(x[0], (int)p->i[0], (int)p->i[1]))
OP(unbind,          1, SHAPE, ALL,     ANY, DIFF, op_unbind(x, p))
OP(tril,            1, SHAPE, ALL,     ANY, DIFF, nb_tril(x[0], p->i[0]))
OP(triu,            1, SHAPE, ALL,     ANY, DIFF, nb_triu(x[0], p->i[0]))
OP(trace,           1, SHAPE, NUMERIC, ANY, DIFF, nb_trace(x[0]))
OP(repeat,          1, SHAPE, ALL,     ANY, DIFF, nb_repeat(x[0], p->shape))
OP(tile,            1, SHAPE, ALL,     ANY, DIFF, nb_tile(x[0], p->shape))
OP(repeat_interleave, 1, SHAPE, ALL,   ANY, DIFF, nb_repeat_interleave(x[0], p->i[0], (int)p->i[1]))
OP(repeat_interleave_tensor, 2, SHAPE, ALL, ANY, DIFF, nb_repeat_interleave_tensor(x[0], x[1], (int)p->i[1], p->i[2]))
OP(tensor_split,    1, SHAPE, ALL,     ANY, DIFF, op_tensor_split(x, p, false))
OP(tensor_split_indices, 1, SHAPE, ALL, ANY, DIFF, op_tensor_split(x, p, true))
OP(meshgrid,        3, SHAPE, ALL,     ANY, DIFF, op_meshgrid(x, p))
OP(diag,            1, SHAPE, ALL,     ANY, DIFF, nb_diag(x[0], p->i[0]))
OP(diag_embed,      1, SHAPE, ALL,     ANY, DIFF, nb_diag_embed(x[0], p->i[0], (int)p->i[1], (int)p->i[2]))
OP(atleast_1d,      1, SHAPE, ALL,     ANY, DIFF, nb_atleast_1d(x[0]))
OP(atleast_2d,      1, SHAPE, ALL,     ANY, DIFF, nb_atleast_2d(x[0]))
OP(atleast_3d,      1, SHAPE, ALL,     ANY, DIFF, nb_atleast_3d(x[0]))
OP(hstack,          3, STACKS, ALL,    ANY, DIFF, nb_hstack(x, (int)p->i[0]))
OP(vstack,          3, STACKS, ALL,    ANY, DIFF, nb_vstack(x, (int)p->i[0]))
OP(dstack,          3, STACKS, ALL,    ANY, DIFF, nb_dstack(x, (int)p->i[0]))
OP(take_along_dim,  2, INDEX_PUT, ALL, ANY, DIFF, nb_take_along_dim(x[0], x[1], (int)p->i[0]))
OP(index_add,       3, INDEX_PUT, ALL, ANY, DIFF, nb_index_add(x[0], (int)p->i[0], x[1], x[2], p->d[0]))
OP(index_copy,      3, INDEX_PUT, ALL, ANY, DIFF, nb_index_copy(x[0], (int)p->i[0], x[1], x[2]))
OP(index_fill,      2, INDEX_PUT, ALL, ANY, DIFF, nb_index_fill(x[0], (int)p->i[0], x[1], p->d[0]))
OP(index_add_,      3, INDEX_PUT, ALL, ANY, DIFF, nb_index_add_(x[0], (int)p->i[0], x[1], x[2], p->d[0]))
OP(index_copy_,     3, INDEX_PUT, ALL, ANY, DIFF, nb_index_copy_(x[0], (int)p->i[0], x[1], x[2]))
OP(index_fill_,     2, INDEX_PUT, ALL, ANY, DIFF, nb_index_fill_(x[0], (int)p->i[0], x[1], p->d[0]))
/* Issue 13: elementwise math, rounding, activations, bitwise, and their
 * scalar and in-place forms. Kind UNARY_EDGES is UNARY plus exact kink
 * points and large magnitudes, BINARY_EDGES is BINARY plus signs, integer
 * division by zero and huge / tiny floats; ACT2 (prelu), GLU and ISCLOSE have their own
 * generators. Domains UNIT (|x| < 1), GT1 (x > 1) and OFFGRID (never an
 * integer, half-integer or kink, for finite differences) are the script's. */
OP(tan,            1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_tan(x[0]))
OP(asin,           1, UNARY_EDGES, FLOAT,   UNIT,    DIFF,    nb_asin(x[0]))
OP(acos,           1, UNARY_EDGES, FLOAT,   UNIT,    DIFF,    nb_acos(x[0]))
OP(atan,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_atan(x[0]))
OP(sinh,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_sinh(x[0]))
OP(cosh,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_cosh(x[0]))
OP(asinh,          1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_asinh(x[0]))
OP(acosh,          1, UNARY_EDGES, FLOAT,   GT1,     DIFF,    nb_acosh(x[0]))
OP(atanh,          1, UNARY_EDGES, FLOAT,   UNIT,    DIFF,    nb_atanh(x[0]))
OP(log2,           1, UNARY_EDGES, FLOAT,   POS,     DIFF,    nb_log2(x[0]))
OP(log10,          1, UNARY_EDGES, FLOAT,   POS,     DIFF,    nb_log10(x[0]))
OP(exp2,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_exp2(x[0]))
OP(reciprocal,     1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_reciprocal(x[0]))
OP(sinc,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_sinc(x[0]))
OP(square,         1, UNARY_EDGES, NUMERIC, ANY,     DIFF,    nb_square(x[0]))
OP(floor,          1, UNARY_EDGES, NUMERIC, OFFGRID, DIFF,    nb_floor(x[0]))
OP(ceil,           1, UNARY_EDGES, NUMERIC, OFFGRID, DIFF,    nb_ceil(x[0]))
OP(round,          1, UNARY_EDGES, NUMERIC, OFFGRID, DIFF,    nb_round(x[0]))
OP(trunc,          1, UNARY_EDGES, NUMERIC, OFFGRID, DIFF,    nb_trunc(x[0]))
OP(frac,           1, UNARY_EDGES, FLOAT,   OFFGRID, DIFF,    nb_frac(x[0]))
OP(round_decimals, 1, UNARY_EDGES, FLOAT,   OFFGRID, DIFF,    nb_round_decimals(x[0], p->i[0]))
OP(leaky_relu,     1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_leaky_relu(x[0], p->d[0]))
OP(elu,            1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_elu(x[0], p->d[0]))
OP(selu,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_selu(x[0]))
OP(celu,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_celu(x[0], p->d[0]))
OP(hardtanh,       1, UNARY_EDGES, NUMERIC, OFFGRID, DIFF,    nb_hardtanh(x[0], p->d[0], p->d[1]))
OP(relu6,          1, UNARY_EDGES, NUMERIC, OFFGRID, DIFF,    nb_relu6(x[0]))
OP(hardswish,      1, UNARY_EDGES, FLOAT,   OFFGRID, DIFF,    nb_hardswish(x[0]))
OP(hardsigmoid,    1, UNARY_EDGES, FLOAT,   OFFGRID, DIFF,    nb_hardsigmoid(x[0]))
OP(mish,           1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_mish(x[0]))
OP(softsign,       1, UNARY_EDGES, NUMERIC, ANY,     DIFF,    nb_softsign(x[0]))
OP(logsigmoid,     1, UNARY_EDGES, FLOAT,   ANY,     DIFF,    nb_logsigmoid(x[0]))
OP(nan_to_num,     1, UNARY_EDGES, ALL,     ANY,     DIFF,    nb_nan_to_num(x[0], p->d[0], p->d[1], p->d[2]))
OP(bitwise_not,    1, UNARY_EDGES, ALL,     ANY,     NONDIFF, nb_bitwise_not(x[0]))
OP(prelu,          2, ACT2,        FLOAT,   ANY,     DIFF,    nb_prelu(x[0], x[1]))
OP(glu,            1, GLU,         FLOAT,   ANY,     DIFF,    nb_glu(x[0], (int)p->i[0]))
OP(isclose,        2, ISCLOSE,     ALL,     ANY,     NONDIFF, nb_isclose(x[0], x[1], p->d[0], p->d[1], p->flag))
OP(fmod,           2, BINARY_EDGES, NUMERIC, NZ,  FIRST,   nb_fmod(x[0], x[1]))
OP(atan2,          2, BINARY_EDGES, ALL,     ANY, DIFF,    nb_atan2(x[0], x[1]))
OP(copysign,       2, BINARY_EDGES, ALL,     ANY, FIRST,   nb_copysign(x[0], x[1]))
OP(hypot,          2, BINARY_EDGES, FLOAT,   ANY, DIFF,    nb_hypot(x[0], x[1]))
OP(xlogy,          2, BINARY_EDGES, ALL,     ANY, DIFF,    nb_xlogy(x[0], x[1]))
OP(logical_xor,    2, BINARY_EDGES, ALL,     ANY, NONDIFF, nb_logical_xor(x[0], x[1]))
OP(bitwise_and,    2, BINARY_EDGES, ALL,     ANY, NONDIFF, nb_bitwise_and(x[0], x[1]))
OP(bitwise_or,     2, BINARY_EDGES, ALL,     ANY, NONDIFF, nb_bitwise_or(x[0], x[1]))
OP(bitwise_xor,    2, BINARY_EDGES, ALL,     ANY, NONDIFF, nb_bitwise_xor(x[0], x[1]))
OP(fmod_scalar,        1, SCALAR, NUMERIC, ANY, FIRST,   nb_fmod_scalar(x[0], p->d[0]))
OP(atan2_scalar,       1, SCALAR, ALL,     ANY, DIFF,    nb_atan2_scalar(x[0], p->d[0]))
OP(copysign_scalar,    1, SCALAR, ALL,     ANY, FIRST,   nb_copysign_scalar(x[0], p->d[0]))
OP(hypot_scalar,       1, SCALAR, FLOAT,   ANY, DIFF,    nb_hypot_scalar(x[0], p->d[0]))
OP(xlogy_scalar,       1, SCALAR, ALL,     ANY, DIFF,    nb_xlogy_scalar(x[0], p->d[0]))
OP(logical_xor_scalar, 1, SCALAR, ALL,     ANY, NONDIFF, nb_logical_xor_scalar(x[0], p->d[0]))
OP(bitwise_and_scalar, 1, SCALAR, ALL,     ANY, NONDIFF, nb_bitwise_and_scalar(x[0], p->d[0]))
OP(bitwise_or_scalar,  1, SCALAR, ALL,     ANY, NONDIFF, nb_bitwise_or_scalar(x[0], p->d[0]))
OP(bitwise_xor_scalar, 1, SCALAR, ALL,     ANY, NONDIFF, nb_bitwise_xor_scalar(x[0], p->d[0]))
OP(tan_,            1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_tan_(x[0]))
OP(asin_,           1, INPLACE_UNARY, FLOAT,   UNIT,    DIFF,  nb_asin_(x[0]))
OP(acos_,           1, INPLACE_UNARY, FLOAT,   UNIT,    DIFF,  nb_acos_(x[0]))
OP(atan_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_atan_(x[0]))
OP(sinh_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_sinh_(x[0]))
OP(cosh_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_cosh_(x[0]))
OP(asinh_,          1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_asinh_(x[0]))
OP(acosh_,          1, INPLACE_UNARY, FLOAT,   GT1,     DIFF,  nb_acosh_(x[0]))
OP(atanh_,          1, INPLACE_UNARY, FLOAT,   UNIT,    DIFF,  nb_atanh_(x[0]))
OP(log2_,           1, INPLACE_UNARY, FLOAT,   POS,     DIFF,  nb_log2_(x[0]))
OP(log10_,          1, INPLACE_UNARY, FLOAT,   POS,     DIFF,  nb_log10_(x[0]))
OP(exp2_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_exp2_(x[0]))
OP(reciprocal_,     1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_reciprocal_(x[0]))
OP(sinc_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_sinc_(x[0]))
OP(square_,         1, INPLACE_UNARY, NUMERIC, ANY,     DIFF,  nb_square_(x[0]))
OP(floor_,          1, INPLACE_UNARY, NUMERIC, OFFGRID, DIFF,  nb_floor_(x[0]))
OP(ceil_,           1, INPLACE_UNARY, NUMERIC, OFFGRID, DIFF,  nb_ceil_(x[0]))
OP(round_,          1, INPLACE_UNARY, NUMERIC, OFFGRID, DIFF,  nb_round_(x[0]))
OP(trunc_,          1, INPLACE_UNARY, NUMERIC, OFFGRID, DIFF,  nb_trunc_(x[0]))
OP(frac_,           1, INPLACE_UNARY, FLOAT,   OFFGRID, DIFF,  nb_frac_(x[0]))
OP(round_decimals_, 1, INPLACE_UNARY, FLOAT,   OFFGRID, DIFF,  nb_round_decimals_(x[0], p->i[0]))
OP(leaky_relu_,     1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_leaky_relu_(x[0], p->d[0]))
OP(elu_,            1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_elu_(x[0], p->d[0]))
OP(selu_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_selu_(x[0]))
OP(celu_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_celu_(x[0], p->d[0]))
OP(hardtanh_,       1, INPLACE_UNARY, NUMERIC, OFFGRID, DIFF,  nb_hardtanh_(x[0], p->d[0], p->d[1]))
OP(relu6_,          1, INPLACE_UNARY, NUMERIC, OFFGRID, DIFF,  nb_relu6_(x[0]))
OP(hardswish_,      1, INPLACE_UNARY, FLOAT,   OFFGRID, DIFF,  nb_hardswish_(x[0]))
OP(hardsigmoid_,    1, INPLACE_UNARY, FLOAT,   OFFGRID, DIFF,  nb_hardsigmoid_(x[0]))
OP(mish_,           1, INPLACE_UNARY, FLOAT,   ANY,     DIFF,  nb_mish_(x[0]))
OP(nan_to_num_,     1, INPLACE_UNARY, ALL,     ANY,     DIFF,  nb_nan_to_num_(x[0], p->d[0], p->d[1], p->d[2]))
OP(bitwise_not_,    1, INPLACE_UNARY, ALL,     ANY,     NONDIFF, nb_bitwise_not_(x[0]))
OP(fmod_,           2, INPLACE_BINARY, NUMERIC, NZ, FIRST, nb_fmod_(x[0], x[1]))
OP(fmod_scalar_,    1, INPLACE_SCALAR, NUMERIC, ANY, FIRST, nb_fmod_scalar_(x[0], p->d[0]))
OP(atan2_,          2, INPLACE_BINARY, ALL,   ANY, DIFF,    nb_atan2_(x[0], x[1]))
OP(atan2_scalar_,   1, INPLACE_SCALAR, ALL,   ANY, DIFF,    nb_atan2_scalar_(x[0], p->d[0]))
OP(copysign_,       2, INPLACE_BINARY, ALL,   ANY, FIRST,   nb_copysign_(x[0], x[1]))
OP(copysign_scalar_, 1, INPLACE_SCALAR, ALL,  ANY, FIRST,   nb_copysign_scalar_(x[0], p->d[0]))
OP(hypot_,          2, INPLACE_BINARY, FLOAT, ANY, DIFF,    nb_hypot_(x[0], x[1]))
OP(hypot_scalar_,   1, INPLACE_SCALAR, FLOAT, ANY, DIFF,    nb_hypot_scalar_(x[0], p->d[0]))
OP(xlogy_,          2, INPLACE_BINARY, ALL,   ANY, DIFF,    nb_xlogy_(x[0], x[1]))
OP(xlogy_scalar_,   1, INPLACE_SCALAR, ALL,   ANY, DIFF,    nb_xlogy_scalar_(x[0], p->d[0]))
OP(bitwise_and_,    2, INPLACE_BINARY, ALL,   ANY, NONDIFF, nb_bitwise_and_(x[0], x[1]))
OP(bitwise_and_scalar_, 1, INPLACE_SCALAR, ALL, ANY, NONDIFF, nb_bitwise_and_scalar_(x[0], p->d[0]))
OP(bitwise_or_,     2, INPLACE_BINARY, ALL,   ANY, NONDIFF, nb_bitwise_or_(x[0], x[1]))
OP(bitwise_or_scalar_, 1, INPLACE_SCALAR, ALL, ANY, NONDIFF, nb_bitwise_or_scalar_(x[0], p->d[0]))
OP(bitwise_xor_,    2, INPLACE_BINARY, ALL,   ANY, NONDIFF, nb_bitwise_xor_(x[0], x[1]))
OP(bitwise_xor_scalar_, 1, INPLACE_SCALAR, ALL, ANY, NONDIFF, nb_bitwise_xor_scalar_(x[0], p->d[0]))
/* Linear algebra: products, norms, einsum and torch.linalg (issue 13).
 * p->d[0], p->d[1]: beta, alpha; p->i[0]: cross's dim, matrix_norm's ord,
 * einsum's equation; p->flag: keepdim, upper, complete, full_matrices. */
OP(addmm,                  3, LINALG, NUMERIC, ANY, DIFF,     nb_addmm(x[0], x[1], x[2], p->d[0], p->d[1]))
OP(baddbmm,                3, LINALG, NUMERIC, ANY, DIFF,     nb_baddbmm(x[0], x[1], x[2], p->d[0], p->d[1]))
OP(kron,                   2, LINALG, ALL,     ANY, DIFF,     nb_kron(x[0], x[1]))
OP(linalg_cross,           2, LINALG, NUMERIC, ANY, DIFF,     nb_linalg_cross(x[0], x[1], (int)p->i[0]))
OP(linalg_vector_norm,     1, LINALG, FLOAT,   ANY, FIRST,    nb_linalg_vector_norm(x[0], p->d[0], p->dims, p->flag))
OP(linalg_matrix_norm,     1, LINALG, FLOAT,   ANY, FIRST,    nb_linalg_matrix_norm(x[0], (nb_matrix_norm_ord)p->i[0], NB_DIMS((int)p->i[1], (int)p->i[2]), p->flag))
OP(linalg_matrix_norm_svd, 1, LINALG, FLOAT,   ANY, LFIRST,   nb_linalg_matrix_norm(x[0], (nb_matrix_norm_ord)p->i[0], NB_DIMS((int)p->i[1], (int)p->i[2]), p->flag))
OP(einsum,                 3, LINALG, NUMERIC, ANY, DIFF,     op_einsum(x, p))
OP(linalg_solve,           2, LINALG, FLOAT,   ANY, LDIFF,    nb_linalg_solve(x[0], x[1]))
OP(linalg_inv,             1, LINALG, FLOAT,   ANY, LDIFF,    nb_linalg_inv(x[0]))
OP(linalg_det,             1, LINALG, FLOAT,   ANY, LDIFF,    nb_linalg_det(x[0]))
OP(linalg_slogdet,         1, LINALG, FLOAT,   ANY, LDIFF,    op_slogdet(x, false))
OP(linalg_slogdet_sign,    1, LINALG, FLOAT,   ANY, LNONDIFF, op_slogdet(x, true))
OP(linalg_cholesky,        1, LINALG, FLOAT,   ANY, LDIFF,    op_on_symmetric(x, p, 0))
OP(linalg_qr,              1, LINALG, FLOAT,   ANY, LDIFF,    op_qr(x, p, false))
OP(linalg_qr_r,            1, LINALG, FLOAT,   ANY, LDIFF,    op_qr(x, p, true))
OP(linalg_eigh,            1, LINALG, FLOAT,   ANY, LDIFF,    op_on_symmetric(x, p, 1))
OP(linalg_eigh_vectors,    1, LINALG, FLOAT,   ANY, LDIFF,    op_on_symmetric(x, p, 3))
OP(linalg_eigvalsh,        1, LINALG, FLOAT,   ANY, LDIFF,    op_on_symmetric(x, p, 2))
OP(linalg_svd,             1, LINALG, FLOAT,   ANY, LDIFF,    op_svd(x, p, false))
OP(linalg_svd_values,      1, LINALG, FLOAT,   ANY, LDIFF,    op_svd(x, p, true))
OP(linalg_svdvals,         1, LINALG, FLOAT,   ANY, LDIFF,    nb_linalg_svdvals(x[0]))
OP(linalg_lstsq,           2, LINALG, FLOAT,   ANY, LDIFF,    nb_linalg_lstsq(x[0], x[1]))
OP(linalg_pinv,            1, LINALG, FLOAT,   ANY, LDIFF,    nb_linalg_pinv(x[0]))
/* Recurrent layers (issue 14): i[0] = 1 for relu, flag = batch_first */
OP(rnn_cell,        6, RNN, FLOAT,     ANY, DIFF, nb_rnn_cell(x[0], x[1], x[2], x[3], x[4], x[5], (nb_rnn_nonlinearity)p->i[0]))
OP(lstm_cell,       7, RNN, FLOAT,     ANY, DIFF, nb_lstm_cell(x[0], x[1], x[2], x[3], x[4], x[5], x[6], NULL))
OP(gru_cell,        6, RNN, FLOAT,     ANY, DIFF, nb_gru_cell(x[0], x[1], x[2], x[3], x[4], x[5]))
OP(lstm,            7, RNN, FLOAT,     ANY, DIFF, nb_lstm(x[0], x[1], x[2], x + 3, x[5] ? 4 : 2, NULL, NB_RNN_OPTS(.batch_first = p->flag), true, NULL, NULL))
OP(gru,             6, RNN, FLOAT,     ANY, DIFF, nb_gru(x[0], x[1], x + 2, x[4] ? 4 : 2, NULL, NB_RNN_OPTS(.batch_first = p->flag), true, NULL))
OP(rnn,             6, RNN, FLOAT,     ANY, DIFF, nb_rnn(x[0], x[1], x + 2, x[4] ? 4 : 2, NULL, NB_RNN_OPTS(.batch_first = p->flag, .nonlinearity = (nb_rnn_nonlinearity)p->i[0]), true, NULL))
/* issue 14: attention. x[3] the mask (or NULL); p->d[0] scale, p->d[1]
 * dropout_p, p->flag is_causal. */
OP(scaled_dot_product_attention, 4, ATTENTION, FLOAT, ANY, DIFF,
   nb_scaled_dot_product_attention(x[0], x[1], x[2], x[3], p->d[1], p->flag, p->d[0]))
OP(scaled_dot_product_attention_composite, 4, ATTENTION, FLOAT, ANY, DIFF,
   nb_scaled_dot_product_attention_composite(x[0], x[1], x[2], x[3], p->d[1], p->flag, p->d[0]))
/* clang-format on */
#endif /* OP */
