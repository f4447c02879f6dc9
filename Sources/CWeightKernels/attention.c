// Scaled-dot-product attention with grouped-query heads, spread over the thread team: each task
// is one head over one block of query rows, whose scores and weighted sum are single-threaded
// OpenBLAS calls. Per-head products are too small for OpenBLAS to split well over the cores
// (each call paid a hand-off), and softmax between them ran on one core while the other waited.
#include "weight_kernels.h"

#include <cblas.h>
#include <math.h>

typedef struct {
    const float *queries, *keys, *values;
    float *out, *scratch;
    size_t count, heads, kv_heads, head_dim, key_count, blocks, scratch_per_thread;
    long causal_start;
    float scale;
} attention_job;

static void attention_task(void *context, size_t index, size_t thread) {
    const attention_job *job = context;
    // Blocks are handed out last first: under a causal mask the last rows see the most keys,
    // and the long tasks should not be the ones left at the end.
    const size_t block = job->blocks - 1 - index / job->heads, head = index % job->heads;
    const size_t group = job->heads / job->kv_heads, head_dim = job->head_dim;
    const size_t query_stride = job->heads * head_dim, key_stride = job->kv_heads * head_dim;
    const size_t first = block * VLM_ATTENTION_BLOCK;
    const size_t rows = job->count - first < VLM_ATTENTION_BLOCK ? job->count - first : VLM_ATTENTION_BLOCK;
    const int causal = job->causal_start >= 0;
    size_t seen = job->key_count;
    if (causal && (size_t)job->causal_start + first + rows < seen) seen = (size_t)job->causal_start + first + rows;
    const float *query = job->queries + first * query_stride + head * head_dim;
    const float *key = job->keys + (head / group) * head_dim, *value = job->values + (head / group) * head_dim;
    float *target = job->out + first * query_stride + head * head_dim;
    float *scores = job->scratch + thread * job->scratch_per_thread;
    if (rows == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)seen, (int)head_dim, job->scale, key, (int)key_stride, query, 1, 0,
                    scores, 1);
        vlm_softmax(scores, seen);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)seen, (int)head_dim, 1, value, (int)key_stride, scores, 1, 0, target, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)seen, (int)head_dim, job->scale, query,
                (int)query_stride, key, (int)key_stride, 0, scores, (int)seen);
    for (size_t row = 0; row < rows; row++) {
        size_t visible = seen;
        if (causal && (size_t)job->causal_start + first + row + 1 < visible) visible = (size_t)job->causal_start + first + row + 1;
        float *row_scores = scores + row * seen;
        vlm_softmax(row_scores, visible);
        for (size_t position = visible; position < seen; position++) row_scores[position] = 0;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)head_dim, (int)seen, 1, scores, (int)seen, value,
                (int)key_stride, 0, target, (int)query_stride);
}

size_t vlm_attention_scratch_floats(size_t count, size_t key_count) {
    const size_t rows = count < VLM_ATTENTION_BLOCK ? count : VLM_ATTENTION_BLOCK;
    return vlm_parallel_threads() * rows * key_count;
}

void vlm_attention(const float *queries, size_t count, size_t heads, const float *keys, const float *values,
                   size_t key_count, size_t kv_heads, size_t head_dim, long causal_start, float *scratch, float *out) {
    if (count == 0 || heads == 0) return;
    attention_job job = {
        .queries = queries, .keys = keys, .values = values, .out = out, .scratch = scratch,
        .count = count, .heads = heads, .kv_heads = kv_heads, .head_dim = head_dim, .key_count = key_count,
        .blocks = (count + VLM_ATTENTION_BLOCK - 1) / VLM_ATTENTION_BLOCK,
        .scratch_per_thread = (count < VLM_ATTENTION_BLOCK ? count : VLM_ATTENTION_BLOCK) * key_count,
        .causal_start = causal_start, .scale = 1.0f / sqrtf((float)head_dim),
    };
    vlm_parallel_for(job.blocks * heads, &job, attention_task);
}
