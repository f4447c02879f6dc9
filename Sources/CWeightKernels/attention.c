// Scaled-dot-product attention with grouped-query heads, spread over the thread team.
//
// Several queries (a prompt, a vision frame): each task is one head over one block of query rows,
// whose scores and weighted sum are single-threaded OpenBLAS calls. Per-head products are too
// small for OpenBLAS to split well over the cores (each call paid a hand-off), and softmax
// between them ran on one core while the other waited.
//
// One query (decoding): reading the cache is the cost. Each task takes one key/value head and a
// chunk of positions and serves all the query heads that share that head, so the cache is read
// once rather than once per query head; it keeps an unnormalised partial result (its maximum
// score, its sum of exponentials, its weighted sum of values), and the partials are merged at
// the end, as in flash-decoding. Per-head matrix-vector calls read the cache three times for
// SmolVLM's three query heads per key head, which at 1000 positions took 40 % of a token's time.
#include "weight_kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VLM_X86 1
#endif

// Positions per decoding task: a chunk of keys and values (64 KB each at head_dim 64) stays in
// the core's cache while every query head of its group passes over it.
enum { DECODE_CHUNK = 256 };

typedef struct {
    const float *queries, *keys, *values;
    float *out, *scratch;
    size_t count, heads, kv_heads, head_dim, key_count, blocks, scratch_per_thread;
    // Floats between consecutive positions, and between consecutive heads, in keys and values.
    size_t position_stride, head_stride;
    long causal_start;
    float scale;
} attention_job;

static void attention_task(void *context, size_t index, size_t thread) {
    const attention_job *job = context;
    // Blocks are handed out last first: under a causal mask the last rows see the most keys,
    // and the long tasks should not be the ones left at the end.
    const size_t block = job->blocks - 1 - index / job->heads, head = index % job->heads;
    const size_t group = job->heads / job->kv_heads, head_dim = job->head_dim;
    const size_t query_stride = job->heads * head_dim, key_stride = job->position_stride;
    const size_t first = block * VLM_ATTENTION_BLOCK;
    const size_t rows = job->count - first < VLM_ATTENTION_BLOCK ? job->count - first : VLM_ATTENTION_BLOCK;
    const int causal = job->causal_start >= 0;
    size_t seen = job->key_count;
    if (causal && (size_t)job->causal_start + first + rows < seen) seen = (size_t)job->causal_start + first + rows;
    const float *query = job->queries + first * query_stride + head * head_dim;
    const float *key = job->keys + (head / group) * job->head_stride, *value = job->values + (head / group) * job->head_stride;
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

static float dot_portable(const float *a, const float *b, size_t n) {
    float sum = 0;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void add_scaled_portable(float *y, float a, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

#ifdef VLM_X86
__attribute__((target("avx2,fma")))
static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        even = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), even);
        odd = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), odd);
    }
    for (; i + 8 <= n; i += 8) even = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), even);
    __m256 v = _mm256_add_ps(even, odd);
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    float result = _mm_cvtss_f32(sum);
    for (; i < n; i++) result += a[i] * b[i];
    return result;
}

__attribute__((target("avx2,fma")))
static void add_scaled_avx2(float *y, float a, const float *x, size_t n) {
    const __m256 scale = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(scale, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#endif

static float dot(const float *a, const float *b, size_t n) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) return dot_avx2(a, b, n);
#endif
    return dot_portable(a, b, n);
}

static void add_scaled(float *y, float a, const float *x, size_t n) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) { add_scaled_avx2(y, a, x, n); return; }
#endif
    add_scaled_portable(y, a, x, n);
}

// A decoding task's result for one query head: [maximum score, sum of e^(score − maximum),
// head_dim weighted sums of values].
static size_t partial_floats(size_t head_dim) { return head_dim + 2; }

static void decode_task(void *context, size_t index, size_t thread) {
    const attention_job *job = context;
    const size_t chunks = job->blocks, kv_head = index / chunks, chunk = index % chunks;
    const size_t group = job->heads / job->kv_heads, head_dim = job->head_dim, key_stride = job->position_stride;
    const size_t begin = chunk * DECODE_CHUNK, end = begin + DECODE_CHUNK < job->key_count ? begin + DECODE_CHUNK : job->key_count;
    const float *keys = job->keys + kv_head * job->head_stride, *values = job->values + kv_head * job->head_stride;
    float *scores = job->scratch + thread * group * DECODE_CHUNK;
    for (size_t position = begin; position < end; position++) {
        const float *key = keys + position * key_stride;
        for (size_t j = 0; j < group; j++)
            scores[j * DECODE_CHUNK + position - begin] = job->scale * dot(job->queries + (kv_head * group + j) * head_dim, key, head_dim);
    }
    float *partials = job->scratch + vlm_parallel_threads() * group * DECODE_CHUNK;
    for (size_t j = 0; j < group; j++) {
        float *row = scores + j * DECODE_CHUNK, maximum = -INFINITY;
        for (size_t i = 0; i < end - begin; i++) maximum = row[i] > maximum ? row[i] : maximum;
        float *partial = partials + ((kv_head * group + j) * chunks + chunk) * partial_floats(head_dim);
        partial[0] = maximum;
        partial[1] = vlm_exp_shifted(row, end - begin, maximum);
        float *sums = partial + 2;
        memset(sums, 0, head_dim * sizeof(float));
        for (size_t position = begin; position < end; position++)
            add_scaled(sums, row[position - begin], values + position * key_stride, head_dim);
    }
}

static void decode(attention_job *job) {
    const size_t chunks = job->blocks, head_dim = job->head_dim;
    vlm_parallel_for(job->kv_heads * chunks, job, decode_task);
    const float *partials = job->scratch + vlm_parallel_threads() * (job->heads / job->kv_heads) * DECODE_CHUNK;
    for (size_t head = 0; head < job->heads; head++) {
        const float *first = partials + head * chunks * partial_floats(head_dim);
        float maximum = -INFINITY, total = 0;
        for (size_t chunk = 0; chunk < chunks; chunk++)
            maximum = first[chunk * partial_floats(head_dim)] > maximum ? first[chunk * partial_floats(head_dim)] : maximum;
        float *out = job->out + head * head_dim;
        memset(out, 0, head_dim * sizeof(float));
        for (size_t chunk = 0; chunk < chunks; chunk++) {
            const float *partial = first + chunk * partial_floats(head_dim);
            const float weight = expf(partial[0] - maximum);
            total += weight * partial[1];
            add_scaled(out, weight, partial + 2, head_dim);
        }
        for (size_t d = 0; d < head_dim; d++) out[d] /= total;
    }
}

size_t vlm_attention_scratch_floats(size_t count, size_t heads, size_t key_count, size_t kv_heads, size_t head_dim) {
    if (count == 1) {
        const size_t chunks = (key_count + DECODE_CHUNK - 1) / DECODE_CHUNK;
        return vlm_parallel_threads() * (heads / kv_heads) * DECODE_CHUNK + heads * chunks * partial_floats(head_dim);
    }
    const size_t rows = count < VLM_ATTENTION_BLOCK ? count : VLM_ATTENTION_BLOCK;
    return vlm_parallel_threads() * rows * key_count;
}

void vlm_attention(const float *queries, size_t count, size_t heads, const float *keys, const float *values,
                   size_t key_count, size_t kv_heads, size_t head_dim, size_t position_stride, size_t head_stride,
                   long causal_start, float *scratch, float *out) {
    if (count == 0 || heads == 0) return;
    attention_job job = {
        .queries = queries, .keys = keys, .values = values, .out = out, .scratch = scratch,
        .count = count, .heads = heads, .kv_heads = kv_heads, .head_dim = head_dim, .key_count = key_count,
        .position_stride = position_stride, .head_stride = head_stride,
        .blocks = (count + VLM_ATTENTION_BLOCK - 1) / VLM_ATTENTION_BLOCK,
        .scratch_per_thread = (count < VLM_ATTENTION_BLOCK ? count : VLM_ATTENTION_BLOCK) * key_count,
        .causal_start = causal_start, .scale = 1.0f / sqrtf((float)head_dim),
    };
    if (count == 1) {
        // A single query sees every key (causal or not); `blocks` counts chunks of positions.
        job.blocks = (key_count + DECODE_CHUNK - 1) / DECODE_CHUNK;
        decode(&job);
        return;
    }
    vlm_parallel_for(job.blocks * heads, &job, attention_task);
}
