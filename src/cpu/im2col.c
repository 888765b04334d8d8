/*
 * im2col.c — convolution products on the CPU (see im2col.h for the letters):
 * each image's column matrix is built in a per-thread buffer (im2col), a
 * GEMM per group turns it into output channels, and col2im scatters
 * columns back to pixels for the transposed direction.
 *
 * Why per image: the column matrix of one image (K x L) is small enough to
 * stay in cache between im2col and GEMM, and the output of each image's GEMM
 * lands directly in its (O, P, Q) block, so no (N, K, L) buffer and no
 * transpose of the output are needed. A 1x1 kernel with stride 1 and no
 * padding reads the image itself as its column matrix.
 */
#include "im2col.h"

#include "gemm.h"
#include "winograd.h"

/* ------------------------------------------------------------------------ */
/* im2col / col2im                                                           */
/* ------------------------------------------------------------------------ */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Column positions q in [lo, hi) read inside the image for a kernel column
 * whose first pixel is at offset (may be negative); the rest read padding. */
static void valid_columns(const nbi_conv_shape *s, int64_t offset, int64_t *lo, int64_t *hi)
{
    int64_t first = offset >= 0 ? 0 : ceil_div(-offset, s->stride_w);
    int64_t end   = offset < s->width ? ceil_div(s->width - offset, s->stride_w) : 0;
    if (first > s->out_w) first = s->out_w;
    if (end > s->out_w) end = s->out_w;
    if (end < first) end = first;
    *lo = first;
    *hi = end;
}

/* Stride 1 with Q == W ("same" padding): kernel tap (i, j) reads image row
 * p + shift and column q + offset for output rows [p_lo, p_hi) and columns
 * [lo, hi); every other position of the tap reads padding. p_hi == p_lo
 * when the tap reads no pixel at all. */
typedef struct {
    int64_t offset, lo, hi;
    int64_t shift, p_lo, p_hi;
} same_tap;

static same_tap same_tap_of(const nbi_conv_shape *s, int64_t i, int64_t j)
{
    const int64_t H = s->height, P = s->out_h;
    same_tap      t;
    t.offset = j * s->dilation_w - s->pad_w;
    valid_columns(s, t.offset, &t.lo, &t.hi);
    t.shift = i * s->dilation_h - s->pad_h;
    t.p_lo  = t.shift < 0 ? -t.shift : 0;
    t.p_hi  = H - t.shift < P ? H - t.shift : P;
    if (t.p_lo > P) t.p_lo = P;
    if (t.p_hi < t.p_lo || t.hi <= t.lo) t.p_hi = t.p_lo;
    return t;
}

/* One definition per element type; T is float or double. */
#define DEFINE_IM2COL(T, suffix)                                                                                       \
    /* Zero a same tap's entries in columns outside [lo, hi) of its rows                                               \
     * [p_lo, p_hi): there, a run copied or added as one meets the                                                     \
     * neighbouring image rows. */                                                                                     \
    static void zero_same_tap_edges_##suffix(T *cols, int64_t Q, const same_tap *t)                                    \
    {                                                                                                                  \
        for (int64_t q = 0; q < t->lo; q++)                                                                            \
            for (int64_t p = t->p_lo; p < t->p_hi; p++)                                                                \
                cols[p * Q + q] = 0;                                                                                   \
        for (int64_t q = t->hi; q < Q; q++)                                                                            \
            for (int64_t p = t->p_lo; p < t->p_hi; p++)                                                                \
                cols[p * Q + q] = 0;                                                                                   \
    }                                                                                                                  \
                                                                                                                       \
    /* Stride 1 with Q == W: the valid rows of one kernel tap are one run of                                           \
     * the image, so each tap is one memcpy plus zeros at the padded edges. */                                         \
    static void im2col_same_##suffix(const nbi_conv_shape *s, int64_t channels, const T *image, T *cols, int64_t ld)   \
    {                                                                                                                  \
        const int64_t H = s->height, W = s->width, P = s->out_h, Q = s->out_w;                                         \
        for (int64_t c = 0; c < channels; c++)                                                                         \
            for (int64_t i = 0; i < s->kernel_h; i++)                                                                  \
                for (int64_t j = 0; j < s->kernel_w; j++, cols += ld) {                                                \
                    same_tap t = same_tap_of(s, i, j);                                                                 \
                    memset(cols, 0, (size_t)(t.p_lo * Q) * sizeof(T));                                                 \
                    memset(cols + t.p_hi * Q, 0, (size_t)((P - t.p_hi) * Q) * sizeof(T));                              \
                    if (t.p_hi == t.p_lo) continue;                                                                    \
                    int64_t first = t.p_lo * Q + t.lo, last = (t.p_hi - 1) * Q + t.hi;                                 \
                    int64_t from = (c * H + t.p_lo + t.shift) * W + t.offset + t.lo; /* >= 0 */                        \
                    memcpy(cols + first, image + from, (size_t)(last - first) * sizeof(T));                            \
                    zero_same_tap_edges_##suffix(cols, Q, &t);                                                         \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    void nbi_im2col_##suffix(const nbi_conv_shape *s, int64_t channels, const T *image, T *cols, int64_t ld)           \
    {                                                                                                                  \
        const int64_t H = s->height, W = s->width, P = s->out_h, Q = s->out_w;                                         \
        if (s->stride_h == 1 && s->stride_w == 1 && Q == W) {                                                          \
            im2col_same_##suffix(s, channels, image, cols, ld);                                                        \
            return;                                                                                                    \
        }                                                                                                              \
        for (int64_t c = 0; c < channels; c++)                                                                         \
            for (int64_t i = 0; i < s->kernel_h; i++)                                                                  \
                for (int64_t j = 0; j < s->kernel_w; j++, cols += ld - P * Q) {                                        \
                    const T *plane  = image + c * H * W;                                                               \
                    int64_t  offset = j * s->dilation_w - s->pad_w, lo, hi;                                            \
                    valid_columns(s, offset, &lo, &hi);                                                                \
                    for (int64_t p = 0; p < P; p++, cols += Q) {                                                       \
                        int64_t ih = p * s->stride_h - s->pad_h + i * s->dilation_h;                                   \
                        if (ih < 0 || ih >= H) {                                                                       \
                            memset(cols, 0, (size_t)Q * sizeof(T));                                                    \
                            continue;                                                                                  \
                        }                                                                                              \
                        /* NOTE: indices, not a pointer to plane + offset, which may lie before it. */                 \
                        int64_t base = ih * W + offset;                                                                \
                        for (int64_t q = 0; q < lo; q++)                                                               \
                            cols[q] = 0;                                                                               \
                        if (s->stride_w == 1) /* memcpy beats a loop on rows this short */                             \
                            memcpy(cols + lo, plane + base + lo, (size_t)(hi - lo) * sizeof(T));                       \
                        else                                                                                           \
                            for (int64_t q = lo; q < hi; q++)                                                          \
                                cols[q] = plane[base + q * s->stride_w];                                               \
                        for (int64_t q = hi; q < Q; q++)                                                               \
                            cols[q] = 0;                                                                               \
                    }                                                                                                  \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    /* The adjoint of im2col_same: the entries of each tap that fall in the                                            \
     * padding are zeroed (they would land in the neighbouring rows), then the                                         \
     * tap's valid rows are added into the image as one run. */                                                        \
    static void col2im_same_##suffix(const nbi_conv_shape *s, int64_t channels, T *cols, T *image)                     \
    {                                                                                                                  \
        const int64_t H = s->height, W = s->width, P = s->out_h, Q = s->out_w;                                         \
        for (int64_t c = 0; c < channels; c++)                                                                         \
            for (int64_t i = 0; i < s->kernel_h; i++)                                                                  \
                for (int64_t j = 0; j < s->kernel_w; j++, cols += P * Q) {                                             \
                    same_tap t = same_tap_of(s, i, j);                                                                 \
                    if (t.p_hi == t.p_lo) continue;                                                                    \
                    zero_same_tap_edges_##suffix(cols, Q, &t);                                                         \
                    int64_t  first = t.p_lo * Q + t.lo, count = (t.p_hi - 1) * Q + t.hi - first;                       \
                    T       *dst = image + (c * H + t.p_lo + t.shift) * W + t.offset + t.lo;                           \
                    const T *src = cols + first;                                                                       \
                    for (int64_t k = 0; k < count; k++)                                                                \
                        dst[k] += src[k];                                                                              \
                }                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    /* NOTE: the adjoint of nbi_im2col, loop for loop; the two stay apart so                                           \
     * that each inner loop is a plain copy or a plain add. */                                                         \
    void nbi_col2im_##suffix(const nbi_conv_shape *s, int64_t channels, T *cols, T *image)                             \
    {                                                                                                                  \
        const int64_t H = s->height, W = s->width, P = s->out_h, Q = s->out_w;                                         \
        if (s->stride_h == 1 && s->stride_w == 1 && Q == W) {                                                          \
            col2im_same_##suffix(s, channels, cols, image);                                                            \
            return;                                                                                                    \
        }                                                                                                              \
        for (int64_t c = 0; c < channels; c++)                                                                         \
            for (int64_t i = 0; i < s->kernel_h; i++)                                                                  \
                for (int64_t j = 0; j < s->kernel_w; j++) {                                                            \
                    T      *plane  = image + c * H * W;                                                                \
                    int64_t offset = j * s->dilation_w - s->pad_w, lo, hi;                                             \
                    valid_columns(s, offset, &lo, &hi);                                                                \
                    for (int64_t p = 0; p < P; p++, cols += Q) {                                                       \
                        int64_t ih = p * s->stride_h - s->pad_h + i * s->dilation_h;                                   \
                        if (ih < 0 || ih >= H) continue;                                                               \
                        int64_t base = ih * W + offset;                                                                \
                        if (s->stride_w == 1)                                                                          \
                            for (int64_t q = lo; q < hi; q++)                                                          \
                                plane[base + q] += cols[q];                                                            \
                        else                                                                                           \
                            for (int64_t q = lo; q < hi; q++)                                                          \
                                plane[base + q * s->stride_w] += cols[q];                                              \
                    }                                                                                                  \
                }                                                                                                      \
    }

DEFINE_IM2COL(float, f32)
DEFINE_IM2COL(double, f64)
#undef DEFINE_IM2COL

/* The pixel column position (p, q) and tap (i, j) of channel c read, or -1. */
static int64_t source_pixel(const nbi_conv_shape *s, int64_t c, int64_t i, int64_t j, int64_t p, int64_t q)
{
    int64_t ih = p * s->stride_h - s->pad_h + i * s->dilation_h;
    int64_t iw = q * s->stride_w - s->pad_w + j * s->dilation_w;
    if (ih < 0 || ih >= s->height || iw < 0 || iw >= s->width) return -1;
    return (c * s->height + ih) * s->width + iw;
}

void nbi_im2col_reference_f64(const nbi_conv_shape *s, int64_t channels, const double *image, double *cols)
{
    int64_t row = 0;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t i = 0; i < s->kernel_h; i++)
            for (int64_t j = 0; j < s->kernel_w; j++, row++)
                for (int64_t p = 0; p < s->out_h; p++)
                    for (int64_t q = 0; q < s->out_w; q++) {
                        int64_t pixel                             = source_pixel(s, c, i, j, p, q);
                        cols[(row * s->out_h + p) * s->out_w + q] = pixel < 0 ? 0.0 : image[pixel];
                    }
}

void nbi_col2im_reference_f64(const nbi_conv_shape *s, int64_t channels, const double *cols, double *image)
{
    int64_t row = 0;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t i = 0; i < s->kernel_h; i++)
            for (int64_t j = 0; j < s->kernel_w; j++, row++)
                for (int64_t p = 0; p < s->out_h; p++)
                    for (int64_t q = 0; q < s->out_w; q++) {
                        int64_t pixel = source_pixel(s, c, i, j, p, q);
                        if (pixel >= 0) image[pixel] += cols[(row * s->out_h + p) * s->out_w + q];
                    }
}

/* ------------------------------------------------------------------------ */
/* Dtype dispatch: the products below are written once on bytes              */
/* ------------------------------------------------------------------------ */

static void im2col(nb_dtype dtype, const nbi_conv_shape *s, int64_t channels, const void *image, void *cols, int64_t ld)
{
    if (dtype == NB_FLOAT32)
        nbi_im2col_f32(s, channels, image, cols, ld);
    else
        nbi_im2col_f64(s, channels, image, cols, ld);
}

/* rows x len blocks between layouts: dst row r at dst + r * dst_ld, src
 * row r at src + r * src_ld (elements). */
static void copy_rows(size_t itemsize, void *dst, int64_t dst_ld, const void *src, int64_t src_ld, int64_t rows,
                      int64_t len)
{
    for (int64_t r = 0; r < rows; r++)
        memcpy((char *)dst + (size_t)(r * dst_ld) * itemsize, (const char *)src + (size_t)(r * src_ld) * itemsize,
               (size_t)len * itemsize);
}

static void col2im(nb_dtype dtype, const nbi_conv_shape *s, int64_t channels, void *cols, void *image)
{
    if (dtype == NB_FLOAT32)
        nbi_col2im_f32(s, channels, cols, image);
    else
        nbi_col2im_f64(s, channels, cols, image);
}

/* rows x len block: row r set to values[r], or to zero when values is NULL. */
static void fill_rows(nb_dtype dtype, void *dst, int64_t rows, int64_t len, const void *values)
{
    for (int64_t r = 0; r < rows; r++) {
        if (dtype == NB_FLOAT32) {
            float *row = (float *)dst + r * len, v = values ? ((const float *)values)[r] : 0.0f;
            for (int64_t i = 0; i < len; i++)
                row[i] = v;
        } else {
            double *row = (double *)dst + r * len, v = values ? ((const double *)values)[r] : 0.0;
            for (int64_t i = 0; i < len; i++)
                row[i] = v;
        }
    }
}

/* C (m x n, row stride ldc) = op(A) op(B), added to C when accumulate.
 * Empty sizes are handled here, since BLAS wants leading dims >= 1. */
static nb_status gemm(nb_dtype dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const void *a,
                      int64_t lda, const void *b, int64_t ldb, bool accumulate, void *c, int64_t ldc)
{
    if (m == 0 || n == 0) return NB_OK;
    if (k == 0) {
        if (!accumulate)
            for (int64_t i = 0; i < m; i++)
                fill_rows(dtype, (char *)c + (size_t)(i * ldc) * nb_dtype_size(dtype), 1, n, NULL);
        return NB_OK;
    }
    if (dtype == NB_FLOAT32)
        return nbi_gemm_f32(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
    return nbi_gemm_f64(trans_a, trans_b, m, n, k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

/* ------------------------------------------------------------------------ */
/* The products                                                              */
/* ------------------------------------------------------------------------ */

typedef struct conv_job conv_job;

/* One thread's share of a product: images (or pieces of the batch)
 * [begin, end), with buf its column buffer. Returns true when a GEMM failed. */
typedef bool (*conv_share_fn)(conv_job *job, int64_t begin, int64_t end, char *buf);

struct conv_job {
    const nbi_conv_shape *s;
    nb_dtype              dtype;
    size_t                itemsize;
    int64_t               group_channels, group_out, K, L, HW; /* C/G, O/G, K, L, H*W */
    bool                  direct;                              /* 1x1, stride 1, no padding */
    int64_t               span;                                /* images per GEMM (images_per_gemm) */
    const char           *x, *w, *y, *bias;
    /* forward with a bias: w with the bias as an extra column (O x (K + 1)),
     * matched by a row of ones under the column matrix, so GEMM adds it. */
    int64_t bias_rows; /* 0 or 1 */
    char   *w_with_bias;
    char   *out;
    /* weight_grad: one partial sum per piece (pieces of the batch). */
    int64_t       pieces;
    char         *partials;
    conv_share_fn share;
    atomic_int    failed;
};

/* Images whose column matrices sit side by side in one GEMM: enough
 * columns (~1024) that the product's fixed costs (packing the weights, the
 * edge tiles of a short row) are spread over several images, at most 64
 * images and a ~4 MiB column buffer. One when the image is its own column
 * matrix (direct), or has 512 columns or more: side by side costs a copy of
 * the output (forward) or of its gradient (weight_grad), which a wide
 * image's product does not repay. NOTE: a function of the shapes only, so
 * the weight gradient's sums do not change with the thread count. */
enum { SPAN_COLUMNS = 1024, SPAN_MOST = 64, SPAN_BYTES = 4 << 20 };
static int64_t images_per_gemm(const conv_job *job)
{
    if (job->direct || job->L == 0 || 2 * job->L >= SPAN_COLUMNS) return 1;
    int64_t span  = (SPAN_COLUMNS + job->L - 1) / job->L;
    int64_t bytes = (job->K + 1 + job->group_out) * job->L * (int64_t)job->itemsize;
    if (span > SPAN_MOST) span = SPAN_MOST;
    if (bytes > 0 && span > SPAN_BYTES / bytes) span = SPAN_BYTES / bytes;
    return span < 1 ? 1 : span;
}

static conv_job job_of(nb_dtype dtype, const nbi_conv_shape *s)
{
    conv_job job       = {.s = s, .dtype = dtype, .itemsize = nb_dtype_size(dtype)};
    job.group_channels = s->channels / s->groups;
    job.group_out      = s->out_channels / s->groups;
    job.K              = job.group_channels * s->kernel_h * s->kernel_w;
    job.L              = s->out_h * s->out_w;
    job.HW             = s->height * s->width;
    /* NOTE: the output's size is checked too: conv_transpose2d's
     * output_padding makes the (P, Q) side larger than (H, W) even for a 1x1
     * kernel at stride 1 (with a dilation above output_padding). */
    job.direct = s->kernel_h == 1 && s->kernel_w == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 &&
                 s->pad_w == 0 && s->out_h == s->height && s->out_w == s->width;
    job.span = images_per_gemm(&job);
    atomic_init(&job.failed, 0);
    return job;
}

/* Bytes from the start of x (or of the input gradient) to group g of image
 * n, in (N, C, H, W); and from the start of y to it, in (N, O, P, Q). */
static size_t image_offset(const conv_job *job, int64_t n, int64_t g)
{
    return (size_t)((n * job->s->channels + g * job->group_channels) * job->HW) * job->itemsize;
}

static size_t output_offset(const conv_job *job, int64_t n, int64_t g)
{
    return (size_t)((n * job->s->out_channels + g * job->group_out) * job->L) * job->itemsize;
}

/* A share's scratch: the column matrices of span images side by side
 * ((K + bias row) x span L), then a group_out x span L block for the
 * product (forward) or the gradient's rows (weight_grad). */
static size_t column_bytes(const conv_job *job)
{
    return (size_t)((job->K + job->bias_rows + job->group_out) * job->span * job->L) * job->itemsize;
}

/* A share's scratch buffer (column_bytes), or NULL (direct needs none). */
static char *column_buffer(const conv_job *job, bool *failed)
{
    *failed = false;
    if (job->direct || column_bytes(job) == 0) return NULL;
    char *buf = nbi_host_alloc(column_bytes(job));
    *failed   = buf == NULL;
    return buf;
}

static void release_buffer(const conv_job *job, char *buf)
{
    if (buf) nbi_host_release(buf, column_bytes(job));
}

/* The column matrices of group g of images [n, n + count) side by side in
 * buf (row stride count L), under them the row of ones when the job has a
 * bias row; or the image itself when direct (count 1). *ld receives the
 * row stride. */
static const char *columns_of(const conv_job *job, int64_t n, int64_t count, int64_t g, char *buf, int64_t *ld)
{
    *ld = count * job->L;
    if (job->direct) return job->x + image_offset(job, n, g);
    for (int64_t i = 0; i < count; i++)
        im2col(job->dtype, job->s, job->group_channels, job->x + image_offset(job, n + i, g),
               buf + (size_t)(i * job->L) * job->itemsize, *ld);
    if (job->bias_rows) {
        double one     = 1.0;
        float  one_f32 = 1.0f;
        fill_rows(job->dtype, buf + (size_t)(job->K * *ld) * job->itemsize, 1, *ld,
                  job->dtype == NB_FLOAT32 ? (const void *)&one_f32 : (const void *)&one);
    }
    return buf;
}

/* The block after the column matrices in a share's buffer. */
static char *product_block(const conv_job *job, char *buf)
{
    return buf + (size_t)((job->K + job->bias_rows) * job->span * job->L) * job->itemsize;
}

/* Spans [begin, end) of span images each (the last may be short): y[n] =
 * w * cols(x[n]) + bias. With several images the product lands in the
 * share's buffer and is copied to each image's block of y. NOTE: the spans
 * are fixed by the batch, not by how threads split it: a GEMM kernel may
 * round differently for another column count. */
static bool forward_share(conv_job *job, int64_t begin, int64_t end, char *buf)
{
    const nbi_conv_shape *s      = job->s;
    size_t                is     = job->itemsize;
    bool                  failed = false;
    for (int64_t unit = begin; unit < end && !failed; unit++) {
        int64_t n = unit * job->span, count = s->batch - n < job->span ? s->batch - n : job->span;
        for (int64_t g = 0; g < s->groups && !failed; g++) {
            int64_t     ld;
            const char *cols = columns_of(job, n, count, g, buf, &ld);
            char       *y    = count == 1 ? job->out + output_offset(job, n, g) : product_block(job, buf);
            if (job->bias_rows) { /* the bias comes in through the row of ones */
                const char *w = job->w_with_bias + (size_t)(g * job->group_out * (job->K + 1)) * is;
                failed = gemm(job->dtype, false, false, job->group_out, ld, job->K + 1, w, job->K + 1, cols, ld, false,
                              y, ld) != NB_OK;
            } else {
                const char *w = job->w + (size_t)(g * job->group_out * job->K) * is;
                if (job->bias)
                    for (int64_t r = 0; r < job->group_out; r++)
                        fill_rows(job->dtype, y + (size_t)(r * ld) * is, 1, ld, job->bias + (size_t)(g * job->group_out + r) * is);
                failed = gemm(job->dtype, false, false, job->group_out, ld, job->K, w, job->K, cols, ld,
                              job->bias != NULL, y, ld) != NB_OK;
            }
            for (int64_t i = 0; count > 1 && i < count; i++)
                copy_rows(is, job->out + output_offset(job, n + i, g), job->L, y + (size_t)(i * job->L) * is, ld,
                          job->group_out, job->L);
        }
    }
    return failed;
}

/* Images [begin, end): x[n] = col2im(w^T y[n]) + bias. */
static bool input_grad_share(conv_job *job, int64_t begin, int64_t end, char *buf)
{
    const nbi_conv_shape *s      = job->s;
    size_t                is     = job->itemsize;
    bool                  failed = false;
    for (int64_t n = begin; n < end && !failed; n++) {
        char *image_n = job->out + (size_t)(n * s->channels * job->HW) * is;
        fill_rows(job->dtype, image_n, s->channels, job->HW, job->bias);
        for (int64_t g = 0; g < s->groups && !failed; g++) {
            char       *image = job->out + image_offset(job, n, g);
            const char *y     = job->y + output_offset(job, n, g);
            const char *w     = job->w + (size_t)(g * job->group_out * job->K) * is;
            if (job->direct) { /* the image is its own column matrix: accumulate into it */
                failed = gemm(job->dtype, true, false, job->K, job->L, job->group_out, w, job->K, y, job->L, true,
                              image, job->L) != NB_OK;
                continue;
            }
            if (job->K * job->L == 0) continue;
            failed = gemm(job->dtype, true, false, job->K, job->L, job->group_out, w, job->K, y, job->L, false, buf,
                          job->L) != NB_OK;
            if (!failed) col2im(job->dtype, s, job->group_channels, buf, image);
        }
    }
    return failed;
}

/* Pieces [begin, end) of the batch: partial[piece] = the sum over its
 * images of y[n] cols(x[n])^T. */
static bool weight_grad_share(conv_job *job, int64_t begin, int64_t end, char *buf)
{
    const nbi_conv_shape *s      = job->s;
    size_t                is     = job->itemsize;
    int64_t               wsize  = s->out_channels * job->K;
    bool                  failed = false;
    for (int64_t piece = begin; piece < end && !failed; piece++) {
        char   *partial = job->pieces == 1 ? job->out : job->partials + (size_t)(piece * wsize) * is;
        int64_t first = s->batch * piece / job->pieces, last = s->batch * (piece + 1) / job->pieces;
        fill_rows(job->dtype, partial, 1, wsize, NULL);
        for (int64_t n = first; n < last && !failed; n += job->span) {
            int64_t count = last - n < job->span ? last - n : job->span;
            for (int64_t g = 0; g < s->groups && !failed; g++) {
                int64_t     ld;
                const char *cols = columns_of(job, n, count, g, buf, &ld);
                const char *y    = job->y + output_offset(job, n, g);
                if (count > 1) { /* the images' gradient rows side by side, as their columns */
                    for (int64_t i = 0; i < count; i++)
                        copy_rows(is, product_block(job, buf) + (size_t)(i * job->L) * is, ld,
                                  job->y + output_offset(job, n + i, g), job->L, job->group_out, job->L);
                    y = product_block(job, buf);
                }
                char *w = partial + (size_t)(g * job->group_out * job->K) * is;
                failed  = gemm(job->dtype, false, true, job->group_out, job->K, ld, y, ld, cols, ld, true, w, job->K) !=
                         NB_OK;
            }
        }
    }
    return failed;
}

/* nbi_parallel_for's body: the job's share with a column buffer of this
 * thread's own; a failure (of the buffer or a GEMM) is recorded in job. */
static void run_share(int64_t begin, int64_t end, void *ctx)
{
    conv_job *job = ctx;
    bool      failed;
    char     *buf = column_buffer(job, &failed);
    if (!failed) failed = job->share(job, begin, end, buf);
    release_buffer(job, buf);
    if (failed) atomic_store(&job->failed, 1);
}

static nb_status out_of_memory(void) { return nbi_fail_status(NB_ERR_OOM, "out of memory for the column buffers"); }

/* share over count images or pieces, grain at a time, on the threads. */
static nb_status run(conv_job *job, conv_share_fn share, int64_t count, int64_t grain)
{
    job->share = share;
    nbi_parallel_for(count, grain, run_share, job);
    return atomic_load(&job->failed) ? out_of_memory() : NB_OK;
}

/* The weight gradient's batch is cut into at most this many pieces, each
 * with a partial sum of its own: enough for the threads of most machines,
 * few enough that the partials stay small. */
enum { NBI_CONV_WEIGHT_PIECES = 16 };

/* Images per thread piece: enough multiply-adds (~2^18) to pay for a wake-up. */
static int64_t image_grain(const conv_job *job)
{
    int64_t work  = job->s->out_channels * job->K * job->L + job->s->channels * job->HW + 1;
    int64_t grain = ((int64_t)1 << 18) / work;
    return grain < 1 ? 1 : grain;
}

nb_status nbi_conv_forward(nb_dtype dtype, const nbi_conv_shape *s, const void *x, const void *w, const void *bias,
                           void *y)
{
    if (nbi_winograd_applies(dtype, s)) return nbi_winograd_forward(s, x, w, bias, y);
    conv_job job = job_of(dtype, s);
    job.x = x, job.w = w, job.bias = bias, job.out = y;
    size_t is = job.itemsize, row = (size_t)job.K * is;
    if (bias && !job.direct) {
        job.w_with_bias = nbi_host_alloc((size_t)s->out_channels * (row + is));
        if (job.w_with_bias == NULL) return out_of_memory();
        job.bias_rows = 1;
        for (int64_t o = 0; o < s->out_channels; o++) {
            memcpy(job.w_with_bias + o * (row + is), (const char *)w + o * row, row);
            memcpy(job.w_with_bias + o * (row + is) + row, (const char *)bias + o * is, is);
        }
    }
    int64_t   spans  = (s->batch + job.span - 1) / job.span;
    nb_status status = run(&job, forward_share, spans, (image_grain(&job) + job.span - 1) / job.span);
    if (job.w_with_bias) nbi_host_release(job.w_with_bias, (size_t)s->out_channels * (row + is));
    return status;
}

nb_status nbi_conv_input_grad(nb_dtype dtype, const nbi_conv_shape *s, const void *y, const void *w, const void *bias,
                              void *x)
{
    if (nbi_winograd_applies(dtype, s)) return nbi_winograd_input_grad(s, y, w, bias, x);
    conv_job job = job_of(dtype, s);
    job.y = y, job.w = w, job.bias = bias, job.out = x;
    return run(&job, input_grad_share, s->batch, image_grain(&job));
}

nb_status nbi_conv_weight_grad(nb_dtype dtype, const nbi_conv_shape *s, const void *x, const void *y, void *w)
{
    if (nbi_winograd_applies(dtype, s)) return nbi_winograd_weight_grad(s, x, y, w);
    conv_job job = job_of(dtype, s);
    job.x = x, job.y = y, job.out = w;
    int64_t wsize  = s->out_channels * job.K;
    /* NOTE: the pieces depend on the batch only, not on the thread count, so
     * the summed gradient is bit-identical at any number of threads. */
    int64_t pieces = s->batch / image_grain(&job);
    if (pieces > NBI_CONV_WEIGHT_PIECES) pieces = NBI_CONV_WEIGHT_PIECES;
    job.pieces = pieces < 1 ? 1 : pieces;
    if (job.pieces > 1) {
        job.partials = nbi_host_alloc((size_t)(job.pieces * wsize) * job.itemsize);
        if (job.partials == NULL) job.pieces = 1; /* no room to split: run on one thread */
    }
    nb_status status = run(&job, weight_grad_share, job.pieces, 1);
    if (job.pieces > 1) {
        /* Sum the partials in piece order. */
        for (int64_t i = 0; i < wsize; i++) {
            if (dtype == NB_FLOAT32) {
                float sum = 0;
                for (int64_t piece = 0; piece < job.pieces; piece++)
                    sum += ((const float *)job.partials)[piece * wsize + i];
                ((float *)w)[i] = sum;
            } else {
                double sum = 0;
                for (int64_t piece = 0; piece < job.pieces; piece++)
                    sum += ((const double *)job.partials)[piece * wsize + i];
                ((double *)w)[i] = sum;
            }
        }
        nbi_host_release(job.partials, (size_t)(job.pieces * wsize) * job.itemsize);
    }
    return status;
}
