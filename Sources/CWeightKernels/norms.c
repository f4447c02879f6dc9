// RMSNorm and LayerNorm over rows, chunks of rows spread over the thread team. Sums are
// float32, as PyTorch's CPU kernels keep them for float32 tensors (within rounding of its order).
#include "weight_kernels.h"

#include <math.h>

// Rows per task: enough work to pay for the hand-off.
enum { ROWS_PER_TASK = 32 };

typedef struct {
    const float *x, *weight, *bias;
    float *out;
    size_t rows, width;
    float epsilon;
    int layer_norm;  // 0: RMSNorm (no bias)
} norm_job;

static void rms_norm_row(const norm_job *job, const float *x, float *out) {
    const size_t width = job->width;
    float sum = 0;
    for (size_t i = 0; i < width; i++) sum += x[i] * x[i];
    const float scale = 1.0f / sqrtf(sum / (float)width + job->epsilon);
    for (size_t i = 0; i < width; i++) out[i] = job->weight[i] * (x[i] * scale);
}

static void layer_norm_row(const norm_job *job, const float *x, float *out) {
    const size_t width = job->width;
    float mean = 0;
    for (size_t i = 0; i < width; i++) mean += x[i];
    mean /= (float)width;
    float variance = 0;
    for (size_t i = 0; i < width; i++) variance += (x[i] - mean) * (x[i] - mean);
    const float scale = 1.0f / sqrtf(variance / (float)width + job->epsilon);
    for (size_t i = 0; i < width; i++) out[i] = (x[i] - mean) * scale * job->weight[i] + job->bias[i];
}

static void norm_task(void *context, size_t task, size_t thread) {
    (void)thread;
    const norm_job *job = context;
    const size_t begin = task * ROWS_PER_TASK, end = begin + ROWS_PER_TASK < job->rows ? begin + ROWS_PER_TASK : job->rows;
    for (size_t row = begin; row < end; row++) {
        if (job->layer_norm) layer_norm_row(job, job->x + row * job->width, job->out + row * job->width);
        else rms_norm_row(job, job->x + row * job->width, job->out + row * job->width);
    }
}

void vlm_rms_norm(const float *x, size_t rows, size_t width, const float *weight, float epsilon, float *out) {
    norm_job job = {x, weight, NULL, out, rows, width, epsilon, 0};
    vlm_parallel_for((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, &job, norm_task);
}

void vlm_layer_norm(const float *x, size_t rows, size_t width, const float *weight, const float *bias, float epsilon, float *out) {
    norm_job job = {x, weight, bias, out, rows, width, epsilon, 1};
    vlm_parallel_for((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, &job, norm_task);
}
