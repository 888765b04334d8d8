/*
 * linalg.c — matrix products: nb_matmul with torch.matmul's rules, and its
 * strict forms nb_mm, nb_bmm, nb_dot; nb_outer.
 *
 * Every product is a batch of matrix products C (m x n) = A (m x k) B (k x n):
 * a 1-D left operand is the row (1, k), a 1-D right operand the column
 * (k, 1), leading dims are batch dims broadcast against each other, and the
 * added dims are dropped from the result. Float batches go to GEMM one
 * matrix at a time (src/cpu/gemm.c); integer ones to a plain wrapping loop.
 *
 * No copies where strides allow: a matrix with strides (ld, 1) reaches GEMM
 * as it is, one with strides (1, ld) as "transposed" (so nb_t(x) costs
 * nothing), and broadcast batch dims are walked with stride 0 rather than
 * expanded. Anything else (a column slice with a step, an expanded matrix)
 * is copied with nb_contiguous first.
 */
#include "autograd/autograd.h"
#include "cpu/gemm.h"

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

static bool check_operands(const nb_tensor *a, const nb_tensor *b, const char *op)
{
    if (!nbi_check_tensor(a, op, "a") || !nbi_check_tensor(b, op, "b")) return false;
    if (a->storage->device.type != NB_CPU || b->storage->device.type != NB_CPU) {
        nbi_fail(NB_ERR_DEVICE, "%s: %s is on a device this build cannot run (only the CPU is)", op,
                 a->storage->device.type != NB_CPU ? "a" : "b");
        return false;
    }
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
    return true;
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

/* How GEMM can read a rows x cols matrix in place (see gemm.h). */
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

/* ------------------------------------------------------------------------ */
/* The batched product                                                       */
/* ------------------------------------------------------------------------ */

/* C[b] (m x n, contiguous) = A[b] B[b] for every index b of the broadcast
 * batch; a and b step through it with their own strides (0 where broadcast). */
typedef struct {
    nb_dtype    dtype;
    int         batch_ndim;
    int64_t     batch_shape[NB_MAX_DIMS];
    int64_t     a_stride[NB_MAX_DIMS], b_stride[NB_MAX_DIMS];
    const char *a, *b; /* element 0 of each */
    char       *c;
    int64_t     m, n, k;
    matrices    x, y;   /* for the strides of the integer loop */
    gemm_layout la, lb; /* for GEMM */
    atomic_int  failed;
} batch_job;

static void batch_range(int64_t begin, int64_t end, void *ctx)
{
    batch_job *job      = ctx;
    size_t     itemsize = nb_dtype_size(job->dtype);
    for (int64_t index = begin; index < end; index++) {
        int64_t a_off = 0, b_off = 0, rest = index;
        for (int d = job->batch_ndim - 1; d >= 0; d--) {
            int64_t i = rest % job->batch_shape[d];
            rest /= job->batch_shape[d];
            a_off += i * job->a_stride[d];
            b_off += i * job->b_stride[d];
        }
        const char *a = job->a + a_off * (int64_t)itemsize;
        const char *b = job->b + b_off * (int64_t)itemsize;
        char       *c = job->c + index * job->m * job->n * (int64_t)itemsize;
        nb_status   status = NB_OK;
        switch (job->dtype) {
        case NB_FLOAT32:
            status = nbi_gemm_f32(job->la.trans, job->lb.trans, job->m, job->n, job->k, 1.0f, (const float *)a,
                                  job->la.ld, (const float *)b, job->lb.ld, 0.0f, (float *)c, job->n);
            break;
        case NB_FLOAT64:
            status = nbi_gemm_f64(job->la.trans, job->lb.trans, job->m, job->n, job->k, 1.0, (const double *)a,
                                  job->la.ld, (const double *)b, job->lb.ld, 0.0, (double *)c, job->n);
            break;
        default:
            nbi_matmul_int(job->dtype, job->m, job->n, job->k, a, job->x.row_stride, job->x.col_stride, b,
                           job->y.row_stride, job->y.col_stride, c, job->n);
            break;
        }
        if (status != NB_OK) atomic_store(&job->failed, 1);
    }
}

/* Run the job over batch matrices. Small matrices (under ~2 x 64^3
 * multiply-adds, where GEMM itself has one or two blocks) are spread over
 * threads a whole matrix at a time; big ones run one after the other, each
 * threaded inside GEMM. False if GEMM ran out of memory. */
static bool run_batch(batch_job *job, int64_t batch)
{
    double work = (double)job->m * (double)job->n * (double)job->k;
    if (work <= (double)(1 << 19) || !nb_dtype_is_floating(job->dtype)) {
        /* At least ~64k multiply-adds per thread: a few microseconds. */
        int64_t grain = (int64_t)((double)(1 << 16) / (work > 1 ? work : 1)) + 1;
        nbi_parallel_for(batch, grain, batch_range, job);
    } else {
        batch_range(0, batch, job);
    }
    return atomic_load(&job->failed) == 0;
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
    int64_t batch      = nbi_shape_numel(batch_ndim, out_shape);
    if (a->ndim > 1) out_shape[out_ndim++] = x.rows;
    if (b->ndim > 1) out_shape[out_ndim++] = y.cols;
    nb_tensor *out = nbi_empty(out_ndim, out_shape, a->dtype, a->storage->device);
    if (out == NULL || out->numel == 0) return out;
    if (x.cols == 0) { /* empty sums: zeros (all-zero bytes in every dtype) */
        memset(nbi_ptr(out), 0, (size_t)out->numel * nbi_itemsize(out));
        return out;
    }

    /* Copy an operand only when GEMM cannot read its matrices in place. */
    nb_tensor  *a_copy = NULL, *b_copy = NULL;
    gemm_layout la = { 0 }, lb = { 0 };
    bool        is_float = nb_dtype_is_floating(a->dtype);
    bool        ok       = true;
    if (is_float && !gemm_layout_of(x.rows, x.cols, x.row_stride, x.col_stride, &la)) {
        a_copy = nb_contiguous(a);
        ok     = a_copy != NULL;
        if (ok) x = matrices_of(a_copy, true);
        if (ok) gemm_layout_of(x.rows, x.cols, x.row_stride, x.col_stride, &la);
    }
    if (ok && is_float && !gemm_layout_of(y.rows, y.cols, y.row_stride, y.col_stride, &lb)) {
        b_copy = nb_contiguous(b);
        ok     = b_copy != NULL;
        if (ok) y = matrices_of(b_copy, false);
        if (ok) gemm_layout_of(y.rows, y.cols, y.row_stride, y.col_stride, &lb);
    }

    if (ok) {
        batch_job job = { .dtype = a->dtype, .a = nbi_ptr(x.t), .b = nbi_ptr(y.t), .c = nbi_ptr(out),
                          .m = x.rows, .n = y.cols, .k = x.cols, .x = x, .y = y, .la = la, .lb = lb };
        int64_t   folded_rows, folded_stride;
        if (is_float && x.batch_ndim > 0 && nbi_shape_numel(y.batch_ndim, y.batch_shape) == 1
            && fold_batch_into_rows(&x, &folded_rows, &folded_stride)
            && gemm_layout_of(folded_rows, x.cols, folded_stride, x.col_stride, &job.la)) {
            job.m = folded_rows; /* one GEMM over every row of the batch */
            batch = 1;
        } else {
            job.batch_ndim = batch_ndim;
            for (int d = 0; d < batch_ndim; d++) {
                /* Align from the right; a missing or size-1 dim repeats (stride 0). */
                int da = d - (batch_ndim - x.batch_ndim), db = d - (batch_ndim - y.batch_ndim);
                job.batch_shape[d] = out_shape[d];
                job.a_stride[d]    = da >= 0 && x.batch_shape[da] != 1 ? x.batch_stride[da] : 0;
                job.b_stride[d]    = db >= 0 && y.batch_shape[db] != 1 ? y.batch_stride[db] : 0;
            }
        }
        ok = run_batch(&job, batch);
        if (!ok) nbi_fail(NB_ERR_OOM, "%s: out of memory for GEMM's packing buffers", op);
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
    nb_tensor *out = matmul_forward(a, b, op);
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
