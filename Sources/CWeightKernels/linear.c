// y = x · wᵀ (+ bias) over the thread team, with OpenBLAS single-threaded inside each task: one
// pool of threads in the process. Left to its own threads, OpenBLAS's idle workers spin on
// sched_yield between products and take the second core from the team's tasks (attention,
// activations) in between; measured here, a 1000-token prefill ran 20 % slower that way.
#include "weight_kernels.h"

#include <cblas.h>
#include <string.h>

// Output features per task for the 16/8-bit formats (turned back into float32 first).
enum { FEATURE_BLOCK = 256 };
// Below this many rows a product is split by output features (each thread reads part of the
// weights), above by rows (each thread multiplies its rows by all of them, as OpenBLAS would).
enum { ROW_SPLIT_MINIMUM = 64 };

typedef struct {
    const float *x, *bias;
    const void *weights;
    const float *scales;
    float *y, *scratch;
    size_t rows, in, out, parts;
    int format;  // 0 float32, 1 bfloat16, 2 q8
} linear_job;

static void copy_bias(const linear_job *job, size_t row_begin, size_t row_end, size_t feature_begin, size_t feature_end) {
    for (size_t row = row_begin; row < row_end; row++)
        memcpy(job->y + row * job->out + feature_begin, job->bias + feature_begin, (feature_end - feature_begin) * sizeof(float));
}

// Rows [row_begin, row_end) times output features [feature_begin, feature_end), whose weights
// (float32, row-major, in per feature) start at w.
static void multiply(const linear_job *job, const float *w, size_t row_begin, size_t row_end, size_t feature_begin,
                     size_t feature_end) {
    const size_t rows = row_end - row_begin, features = feature_end - feature_begin;
    if (rows == 0 || features == 0) return;
    float beta = 0;
    if (job->bias) { copy_bias(job, row_begin, row_end, feature_begin, feature_end); beta = 1; }
    float *y = job->y + row_begin * job->out + feature_begin;
    const float *x = job->x + row_begin * job->in;
    if (rows == 1) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)features, (int)job->in, 1, w, (int)job->in, x, 1, beta, y, 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)features, (int)job->in, 1, x, (int)job->in, w,
                     (int)job->in, beta, y, (int)job->out);
}

static void float32_task(void *context, size_t part, size_t thread) {
    (void)thread;
    const linear_job *job = context;
    const float *w = job->weights;
    if (job->rows >= ROW_SPLIT_MINIMUM) {
        multiply(job, w, job->rows * part / job->parts, job->rows * (part + 1) / job->parts, 0, job->out);
    } else {
        const size_t begin = job->out * part / job->parts, end = job->out * (part + 1) / job->parts;
        multiply(job, w + begin * job->in, 0, job->rows, begin, end);
    }
}

static void dequantized_task(void *context, size_t block, size_t thread) {
    const linear_job *job = context;
    const size_t begin = block * FEATURE_BLOCK, end = begin + FEATURE_BLOCK < job->out ? begin + FEATURE_BLOCK : job->out;
    float *w = job->scratch + thread * FEATURE_BLOCK * job->in;
    if (job->format == 1) vlm_dequantize_bf16(job->weights, w, begin, end, job->in);
    else vlm_dequantize_q8(job->weights, job->scales, w, begin, end, job->in);
    multiply(job, w, 0, job->rows, begin, end);
}

size_t vlm_linear_scratch_floats(size_t in) { return vlm_parallel_threads() * FEATURE_BLOCK * in; }

void vlm_linear_f32(const float *x, size_t rows, const float *w, size_t in, size_t out, const float *bias, float *y) {
    linear_job job = {.x = x, .bias = bias, .weights = w, .y = y, .rows = rows, .in = in, .out = out};
    // Tiny products are not worth the hand-off.
    job.parts = rows * in * out < (1u << 16) ? 1 : vlm_parallel_threads();
    vlm_parallel_for(job.parts, &job, float32_task);
}

static void add_bias(float *y, const float *bias, size_t n) {
    if (bias) for (size_t i = 0; i < n; i++) y[i] += bias[i];
}

void vlm_linear_bf16(const float *x, size_t rows, const uint16_t *w, size_t in, size_t out, const float *bias, float *scratch,
                     float *y) {
    if (rows == 1) { vlm_parallel_gemv_bf16(w, x, y, out, in); add_bias(y, bias, out); return; }
    linear_job job = {.x = x, .bias = bias, .weights = w, .y = y, .scratch = scratch, .rows = rows, .in = in, .out = out, .format = 1};
    vlm_parallel_for((out + FEATURE_BLOCK - 1) / FEATURE_BLOCK, &job, dequantized_task);
}

void vlm_linear_q8(const float *x, size_t rows, const int8_t *w, const float *scales, size_t in, size_t out, const float *bias,
                   float *scratch, float *y) {
    if (rows == 1) { vlm_parallel_gemv_q8(w, scales, x, y, out, in); add_bias(y, bias, out); return; }
    linear_job job = {.x = x, .bias = bias, .weights = w, .scales = scales, .y = y, .scratch = scratch, .rows = rows, .in = in,
                      .out = out, .format = 2};
    vlm_parallel_for((out + FEATURE_BLOCK - 1) / FEATURE_BLOCK, &job, dequantized_task);
}
