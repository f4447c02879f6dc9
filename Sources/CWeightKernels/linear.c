// y = x · wᵀ (+ bias) over the thread team, with OpenBLAS single-threaded inside each task: one
// pool of threads in the process. Left to its own threads, OpenBLAS's idle workers spin on
// sched_yield between products and take the second core from the team's tasks (attention,
// activations) in between; measured here, a 1000-token prefill ran 20 % slower that way.
#include "weight_kernels.h"

#include <cblas.h>
#include <string.h>

// Below this many rows a product is split by output features (each thread reads part of the
// weights), above by rows (each thread multiplies its rows by all of them, as OpenBLAS would).
enum { ROW_SPLIT_MINIMUM = 64 };
// 16/8-bit weights with several rows are turned back into float32 a slab of output features at
// a time (at most this many floats, at least FEATURE_BLOCK features), then multiplied like
// float32 weights. Whole slabs rather than one block per task: OpenBLAS repacks the activations
// for every product, and a vision layer's 4 096 rows repacked for each 256 features cost a sixth
// of the encoder's time.
enum { SLAB_FLOATS = 1 << 22, FEATURE_BLOCK = 256 };

typedef struct {
    const float *x, *bias;
    const float *weights;  // float32, row-major, `in` per feature, for features [first, first + features)
    float *y;
    size_t rows, in, out, first, features, parts;
} product_job;

// Rows [row_begin, row_end) times the job's features [begin, end) (counted from `first`).
static void multiply(const product_job *job, size_t row_begin, size_t row_end, size_t begin, size_t end) {
    const size_t rows = row_end - row_begin, features = end - begin;
    if (rows == 0 || features == 0) return;
    float *y = job->y + row_begin * job->out + job->first + begin;
    float beta = 0;
    if (job->bias) {
        for (size_t row = 0; row < rows; row++) memcpy(y + row * job->out, job->bias + job->first + begin, features * sizeof(float));
        beta = 1;
    }
    const float *x = job->x + row_begin * job->in, *w = job->weights + begin * job->in;
    // beta = 0 must ignore y's old contents, but some OpenBLAS versions' gemv scale y by beta
    // (NaN · 0 = NaN), and y comes uninitialised: clear the one row.
    if (rows == 1 && beta == 0) memset(y, 0, features * sizeof(float));
    if (rows == 1) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)features, (int)job->in, 1, w, (int)job->in, x, 1, beta, y, 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)features, (int)job->in, 1, x, (int)job->in, w,
                     (int)job->in, beta, y, (int)job->out);
}

static void product_task(void *context, size_t part, size_t thread) {
    (void)thread;
    const product_job *job = context;
    if (job->rows >= ROW_SPLIT_MINIMUM) {
        multiply(job, job->rows * part / job->parts, job->rows * (part + 1) / job->parts, 0, job->features);
    } else {
        multiply(job, 0, job->rows, job->features * part / job->parts, job->features * (part + 1) / job->parts);
    }
}

static void run_product(product_job *job) {
    // Tiny products are not worth the hand-off.
    job->parts = job->rows * job->in * job->features < (1u << 16) ? 1 : vlm_parallel_threads();
    vlm_parallel_for(job->parts, job, product_task);
}

void vlm_linear_f32(const float *x, size_t rows, const float *w, size_t in, size_t out, const float *bias, float *y) {
    product_job job = {.x = x, .bias = bias, .weights = w, .y = y, .rows = rows, .in = in, .out = out, .first = 0, .features = out};
    run_product(&job);
}

// 16/8-bit weights: `scales` NULL for bfloat16.
typedef struct {
    const void *values;
    const float *scales;
    const float *x;
    const int8_t *x_values;  // x rounded to 8 bits, for 8-bit weights' matrix-vector products
    const float *x_scales;
    float *out;
    size_t in, first, features, parts;
} quantized_job;

// One row: the vectorised matrix-vector kernels stream the stored weights, one contiguous range
// of output features per thread.
static void gemv_task(void *context, size_t part, size_t thread) {
    (void)thread;
    const quantized_job *job = context;
    const size_t begin = job->features * part / job->parts, end = job->features * (part + 1) / job->parts;
    if (begin == end) return;
    if (job->scales) vlm_gemv_q8(job->values, job->scales, job->x_values, job->x_scales, job->out + begin, begin, end, job->in);
    else vlm_gemv_bf16(job->values, job->x, job->out + begin, begin, end, job->in);
}

static void dequantize_task(void *context, size_t block, size_t thread) {
    (void)thread;
    const quantized_job *job = context;
    const size_t begin = job->first + block * FEATURE_BLOCK;
    const size_t end = begin + FEATURE_BLOCK < job->first + job->features ? begin + FEATURE_BLOCK : job->first + job->features;
    float *out = job->out + (begin - job->first) * job->in;
    if (job->scales) vlm_dequantize_q8(job->values, job->scales, out, begin, end, job->in);
    else vlm_dequantize_bf16(job->values, out, begin, end, job->in);
}

static size_t slab_features(size_t in, size_t out) {
    size_t features = in == 0 ? out : SLAB_FLOATS / in / FEATURE_BLOCK * FEATURE_BLOCK;
    if (features < FEATURE_BLOCK) features = FEATURE_BLOCK;
    return features < out ? features : out;
}

// One row rounded to 8 bits sits at the start of the scratch space: in bytes of values, then, from
// this many floats in, its in / 32 scales.
static size_t row_scales_offset(size_t in) { return in / sizeof(float) + 1; }

// One row needs room for itself in 8 bits; several, a slab; none, nothing.
size_t vlm_linear_scratch_floats(size_t rows, size_t in, size_t out) {
    return rows <= 1 ? rows * (row_scales_offset(in) + in / VLM_Q8_BLOCK) : slab_features(in, out) * in;
}

static void dequantized_product(const float *x, size_t rows, const void *values, const float *scales, size_t in, size_t out,
                                const float *bias, float *scratch, float *y) {
    const size_t slab = slab_features(in, out);
    for (size_t first = 0; first < out; first += slab) {
        const size_t features = first + slab < out ? slab : out - first;
        quantized_job dequantize = {.values = values, .scales = scales, .out = scratch, .in = in, .first = first, .features = features};
        vlm_parallel_for((features + FEATURE_BLOCK - 1) / FEATURE_BLOCK, &dequantize, dequantize_task);
        product_job job = {.x = x, .bias = bias, .weights = scratch, .y = y, .rows = rows, .in = in, .out = out, .first = first,
                           .features = features};
        run_product(&job);
    }
}

static void quantized_linear(const float *x, size_t rows, const void *values, const float *scales, size_t in, size_t out,
                             const float *bias, float *scratch, float *y) {
    if (rows == 0) return;
    if (rows > 1) { dequantized_product(x, rows, values, scales, in, out, bias, scratch, y); return; }
    // Small products are not worth the hand-off.
    quantized_job job = {.values = values, .scales = scales, .x = x, .out = y, .in = in, .features = out,
                         .parts = out * in < (1u << 16) || out < 64 ? 1 : vlm_parallel_threads()};
    if (scales) {
        int8_t *x_values = (int8_t *)scratch;
        float *x_scales = scratch + row_scales_offset(in);
        vlm_quantize_q8_row(x, x_values, x_scales, in);
        job.x_values = x_values;
        job.x_scales = x_scales;
    }
    vlm_parallel_for(job.parts, &job, gemv_task);
    if (bias) for (size_t i = 0; i < out; i++) y[i] += bias[i];
}

void vlm_linear_bf16(const float *x, size_t rows, const uint16_t *w, size_t in, size_t out, const float *bias, float *scratch,
                     float *y) {
    quantized_linear(x, rows, w, NULL, in, out, bias, scratch, y);
}

void vlm_linear_q8(const float *x, size_t rows, const int8_t *w, const float *scales, size_t in, size_t out, const float *bias,
                   float *scratch, float *y) {
    quantized_linear(x, rows, w, scales, in, out, bias, scratch, y);
}
