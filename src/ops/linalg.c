/*
 * linalg.c — matrix products: nb_matmul with torch.matmul's rules, and its
 * strict forms nb_mm, nb_bmm, nb_dot; nb_outer.
 *
 * Every product is a batch of matrix products C (m x n) = A (m x k) B (k x n):
 * a 1-D left operand is the row (1, k), a 1-D right operand the column
 * (k, 1), leading dims are batch dims broadcast against each other, and the
 * added dims are dropped from the result. The whole batch is one call of
 * the device's matmul entry (core/matmul_args.h): on the CPU, GEMM per
 * float matrix, a plain wrapping loop for the integer dtypes.
 *
 * No copies where strides allow: a matrix with strides (ld, 1) reaches GEMM
 * as it is, one with strides (1, ld) as "transposed" (so nb_t(x) costs
 * nothing), and broadcast batch dims are walked with stride 0 rather than
 * expanded. Anything else (a column slice with a step, an expanded matrix)
 * is copied with nb_contiguous first.
 */
#include "autograd/autograd.h"
#include "core/backend.h"

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

static bool check_operands(const nb_tensor *a, const nb_tensor *b, const char *op)
{
    const nb_tensor *operands[2] = { a, b };
    static const char *const names[2] = { "a", "b" };
    if (!nbi_check_tensor(a, op, "a") || !nbi_check_tensor(b, op, "b") || !nbi_check_device(op, 2, operands, names))
        return false;
    if (a->dtype == NB_BOOL || b->dtype == NB_BOOL) {
        nbi_fail(NB_ERR_DTYPE, "%s: bool tensors cannot be multiplied (%s is bool); convert with nb_to_dtype", op,
                 a->dtype == NB_BOOL ? "a" : "b");
        return false;
    }
    /* NOTE: no promotion, as in PyTorch: a float32 @ float64 product would
     * otherwise silently copy and widen one side. */
    if (a->dtype != b->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: expected both %s, got %s and %s", op, nb_dtype_name(a->dtype),
                 nb_dtype_name(a->dtype), nb_dtype_name(b->dtype));
        return false;
    }
    return nbi_check_supported(nbi_backend_of(a), NBI_FAMILY_MATMUL, NBI_MATMUL_PRODUCT, a->dtype, op);
}

static bool check_ndim(const nb_tensor *t, int ndim, const char *op, const char *name)
{
    if (t->ndim == ndim) return true;
    char buf[NBI_SHAPE_STR_SIZE];
    nbi_fail(NB_ERR_SHAPE, "%s: %s must be %d-D, got shape %s", op, name, ndim,
             nbi_shape_str(t->ndim, t->shape, buf, sizeof buf));
    return false;
}

/* ------------------------------------------------------------------------ */
/* Operands as batches of matrices                                           */
/* ------------------------------------------------------------------------ */

/* t seen as batch_shape x (rows x cols); strides in elements. */
typedef struct {
    const nb_tensor *t;
    int              batch_ndim;
    int64_t          batch_shape[NB_MAX_DIMS];
    int64_t          batch_stride[NB_MAX_DIMS];
    int64_t          rows, cols, row_stride, col_stride;
} matrices;

/* A 1-D left operand is the row (1, k); a 1-D right operand the column (k, 1). */
static matrices matrices_of(const nb_tensor *t, bool is_left)
{
    matrices x = { .t = t };
    if (t->ndim == 1) {
        int64_t len = t->shape[0], stride = t->stride[0];
        if (is_left) {
            x.rows = 1, x.cols = len, x.row_stride = 0, x.col_stride = stride;
        } else {
            x.rows = len, x.cols = 1, x.row_stride = stride, x.col_stride = 0;
        }
        return x;
    }
    x.batch_ndim = t->ndim - 2;
    for (int d = 0; d < x.batch_ndim; d++) {
        x.batch_shape[d]  = t->shape[d];
        x.batch_stride[d] = t->stride[d];
    }
    x.rows       = t->shape[t->ndim - 2];
    x.cols       = t->shape[t->ndim - 1];
    x.row_stride = t->stride[t->ndim - 2];
    x.col_stride = t->stride[t->ndim - 1];
    return x;
}

/* How GEMM can read a rows x cols matrix in place (see matmul_args.h). */
typedef struct {
    bool    trans;
    int64_t ld;
} gemm_layout;

static int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }

/* False when neither layout fits (overlapping or gapped in both directions).
 * A single row or column has an unused stride, so it fits either way. */
static bool gemm_layout_of(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride, gemm_layout *out)
{
    if ((col_stride == 1 || cols == 1) && (rows == 1 || row_stride >= max_i64(1, cols))) {
        out->trans = false;
        out->ld    = rows == 1 ? max_i64(1, cols) : row_stride;
        return true;
    }
    if ((row_stride == 1 || rows == 1) && (cols == 1 || col_stride >= max_i64(1, rows))) {
        out->trans = true;
        out->ld    = cols == 1 ? max_i64(1, rows) : col_stride;
        return true;
    }
    return false;
}

/* When the right operand has no batch dims (or only size-1 ones), a's batch
 * dims and rows may be one long run of rows (a contiguous (B, m, k) is a (B m, k) matrix): then the
 * batch is a single GEMM, as in PyTorch. Fills *rows and *row_stride. */
static bool fold_batch_into_rows(const matrices *x, int64_t *rows, int64_t *row_stride)
{
    int64_t total = x->rows, stride = x->row_stride;
    for (int d = x->batch_ndim - 1; d >= 0; d--) {
        int64_t size = x->batch_shape[d];
        if (size == 1) continue;
        if (total == 1) { /* nothing inside yet: this dim's stride is the row stride */
            total  = size;
            stride = x->batch_stride[d];
        } else if (x->batch_stride[d] == stride * total) {
            total *= size;
        } else {
            return false;
        }
    }
    *rows       = total;
    *row_stride = stride;
    return true;
}

/* a @ b for checked operands of at least 1 dim and the same non-bool dtype. */
static nb_tensor *matmul_forward(const nb_tensor *a, const nb_tensor *b, const char *op)
{
    char     buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
    matrices x = matrices_of(a, true), y = matrices_of(b, false);
    if (x.cols != y.rows)
        return nbi_fail(NB_ERR_SHAPE, "%s: shapes %s and %s cannot be multiplied (%lld != %lld)", op,
                        nbi_shape_str(a->ndim, a->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(b->ndim, b->shape, buf_b, sizeof buf_b), (long long)x.cols,
                        (long long)y.rows);

    /* Result: broadcast batch, then m unless a is 1-D, then n unless b is. */
    int     out_ndim;
    int64_t out_shape[NB_MAX_DIMS];
    if (!nbi_broadcast(x.batch_ndim, x.batch_shape, y.batch_ndim, y.batch_shape, &out_ndim, out_shape, op))
        return nbi_fail(NB_ERR_SHAPE, "%s: shapes %s and %s cannot be multiplied (their batch dims do not broadcast)",
                        op, nbi_shape_str(a->ndim, a->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(b->ndim, b->shape, buf_b, sizeof buf_b));
    int     batch_ndim = out_ndim;
    if (a->ndim > 1) out_shape[out_ndim++] = x.rows;
    if (b->ndim > 1) out_shape[out_ndim++] = y.cols;
    nb_tensor *out = nbi_empty(out_ndim, out_shape, a->dtype, a->storage->device);
    if (out == NULL || out->numel == 0) return out;

    /* Copy an operand only when GEMM cannot read its matrices in place (an
     * empty sum, k == 0, reads nothing). */
    nb_tensor  *a_copy = NULL, *b_copy = NULL;
    gemm_layout la = { 0 }, lb = { 0 };
    bool        is_gemm = nb_dtype_is_floating(a->dtype) && x.cols > 0;
    bool        ok      = true;
    if (is_gemm && !gemm_layout_of(x.rows, x.cols, x.row_stride, x.col_stride, &la)) {
        a_copy = nb_contiguous(a);
        ok     = a_copy != NULL;
        if (ok) x = matrices_of(a_copy, true);
        if (ok) gemm_layout_of(x.rows, x.cols, x.row_stride, x.col_stride, &la);
    }
    if (ok && is_gemm && !gemm_layout_of(y.rows, y.cols, y.row_stride, y.col_stride, &lb)) {
        b_copy = nb_contiguous(b);
        ok     = b_copy != NULL;
        if (ok) y = matrices_of(b_copy, false);
        if (ok) gemm_layout_of(y.rows, y.cols, y.row_stride, y.col_stride, &lb);
    }

    if (ok) {
        nbi_matmul_args args = {
            .device = out->storage->device.index,
            .dtype  = a->dtype,
            .m      = x.rows,
            .n      = y.cols,
            .k      = x.cols,
            .a      = { .data = nbi_ptr(x.t), .trans = la.trans, .ld = la.ld, .row_stride = x.row_stride,
                        .col_stride = x.col_stride },
            .b      = { .data = nbi_ptr(y.t), .trans = lb.trans, .ld = lb.ld, .row_stride = y.row_stride,
                        .col_stride = y.col_stride },
            .c      = nbi_ptr(out),
        };
        int64_t folded_rows, folded_stride;
        gemm_layout folded;
        if (is_gemm && x.batch_ndim > 0 && nbi_shape_numel(y.batch_ndim, y.batch_shape) == 1
            && fold_batch_into_rows(&x, &folded_rows, &folded_stride)
            && gemm_layout_of(folded_rows, x.cols, folded_stride, x.col_stride, &folded)) {
            args.m       = folded_rows; /* one GEMM over every row of the batch */
            args.a.trans = folded.trans;
            args.a.ld    = folded.ld;
        } else {
            args.batch_ndim = batch_ndim;
            for (int d = 0; d < batch_ndim; d++) {
                /* Align from the right; a missing or size-1 dim repeats (stride 0). */
                int da = d - (batch_ndim - x.batch_ndim), db = d - (batch_ndim - y.batch_ndim);
                args.batch_shape[d]    = out_shape[d];
                args.a.batch_stride[d] = da >= 0 && x.batch_shape[da] != 1 ? x.batch_stride[da] : 0;
                args.b.batch_stride[d] = db >= 0 && y.batch_shape[db] != 1 ? y.batch_stride[db] : 0;
            }
        }
        ok = nbi_backend_of(out)->matmul(&args) == NB_OK;
        if (!ok) nbi_entry_failed(op);
    }
    nb_free(a_copy);
    nb_free(b_copy);
    if (!ok) {
        nb_free(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* Public ops                                                                */
/* ------------------------------------------------------------------------ */

/* Every product goes through here: the forward, then its graph node. */
static nb_tensor *matmul(const nb_tensor *a, const nb_tensor *b, const char *op)
{
    /* The forward's internal copies (nb_contiguous) need no graph. */
    nbi_grad_mode_push(false);
    nb_tensor *out;
    if (nbi_is_half(a->dtype) && !nbi_backend_of(a)->supports(NBI_FAMILY_MATMUL, NBI_MATMUL_HALF_NATIVE, a->dtype)) {
        /* float16 / bfloat16 without a kernel of the device's own: a
         * float32 GEMM of the widened operands, rounded back once (torch's
         * CPU path for bfloat16 rounds once too). */
        nb_tensor *wide_a = nbi_copy_as(a, NB_FLOAT32);
        nb_tensor *wide_b = wide_a ? nbi_copy_as(b, NB_FLOAT32) : NULL;
        nb_tensor *wide   = wide_b ? matmul_forward(wide_a, wide_b, op) : NULL;
        out               = wide ? nbi_copy_as(wide, a->dtype) : NULL;
        nb_free(wide_a);
        nb_free(wide_b);
        nb_free(wide);
    } else {
        out = matmul_forward(a, b, op);
    }
    nbi_grad_mode_pop();
    return nbi_record_matmul(out, a, b);
}

nb_tensor *nb_matmul(const nb_tensor *a, const nb_tensor *b)
{
    if (!check_operands(a, b, "nb_matmul")) return NULL;
    if (a->ndim == 0 || b->ndim == 0)
        return nbi_fail(NB_ERR_SHAPE, "nb_matmul: both arguments to matmul need to be at least 1D, but they are %dD and %dD",
                        a->ndim, b->ndim);
    return matmul(a, b, "nb_matmul");
}

nb_tensor *nb_mm(const nb_tensor *a, const nb_tensor *b)
{
    if (!check_operands(a, b, "nb_mm") || !check_ndim(a, 2, "nb_mm", "a") || !check_ndim(b, 2, "nb_mm", "b"))
        return NULL;
    return matmul(a, b, "nb_mm");
}

nb_tensor *nb_bmm(const nb_tensor *a, const nb_tensor *b)
{
    if (!check_operands(a, b, "nb_bmm") || !check_ndim(a, 3, "nb_bmm", "a") || !check_ndim(b, 3, "nb_bmm", "b"))
        return NULL;
    if (a->shape[0] != b->shape[0]) {
        char buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "nb_bmm: batch sizes differ (%lld != %lld) in shapes %s and %s; nb_bmm does not broadcast",
                        (long long)a->shape[0], (long long)b->shape[0],
                        nbi_shape_str(a->ndim, a->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(b->ndim, b->shape, buf_b, sizeof buf_b));
    }
    nb_tensor *out = matmul(a, b, "nb_bmm");
    /* torch.bmm is its own op (torch.matmul of the same operands is not). */
    if (out != NULL && out->grad_fn != NULL) out->grad_fn->name = "BmmBackward0";
    return out;
}

nb_tensor *nb_dot(const nb_tensor *a, const nb_tensor *b)
{
    if (!check_operands(a, b, "nb_dot") || !check_ndim(a, 1, "nb_dot", "a") || !check_ndim(b, 1, "nb_dot", "b"))
        return NULL;
    return matmul(a, b, "nb_dot");
}

/* out[i][j] = a[i] * b[j]: a broadcast multiply of the column a and the row
 * b, so dtypes promote and bool works, as in torch.outer (whose node is
 * MulBackward0 for the same reason). NOTE: the column and row must be the
 * recorded views (nb_unsqueeze), not raw nbi_make_view aliases: an alias
 * has no graph, so the product would not reach a or b in backward. */
nb_tensor *nb_outer(const nb_tensor *a, const nb_tensor *b)
{
    if (!nbi_check_tensor(a, "nb_outer", "a") || !nbi_check_tensor(b, "nb_outer", "b")) return NULL;
    if (!check_ndim(a, 1, "nb_outer", "a") || !check_ndim(b, 1, "nb_outer", "b")) return NULL;
    nb_tensor *column = nb_unsqueeze(a, 1);
    nb_tensor *row    = column ? nb_unsqueeze(b, 0) : NULL;
    nb_tensor *out    = row ? nb_mul(column, row) : NULL;
    nb_free(column);
    nb_free(row);
    return out;
}
