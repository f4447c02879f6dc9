// Scaled-dot-product attention with grouped-query heads, spread over the thread team, over float32
// or half-precision keys and values (the 16-bit KV cache).
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
    // Half-precision keys and values instead (single query only), widened a chunk at a time.
    const uint16_t *half_keys, *half_values;
    float *out, *scratch;
    // Several queries: blocks of VLM_ATTENTION_BLOCK query rows. One query: chunks of DECODE_CHUNK positions.
    size_t count, heads, kv_heads, head_dim, key_count, blocks, chunks, scratch_per_thread;
    // Elements (floats, or halves for half_keys) between consecutive positions and heads.
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

// scores[t] = scale · (query · key t), key t at keys + t · stride, for count keys.
static void scores_portable(const float *query, const float *keys, size_t stride, size_t count, size_t head_dim, float scale,
                            float *scores) {
    for (size_t t = 0; t < count; t++) {
        float sum = 0;
        for (size_t d = 0; d < head_dim; d++) sum += query[d] * keys[t * stride + d];
        scores[t] = scale * sum;
    }
}

// out[d] = Σ_t weights[t] · values[t · stride + d], for count positions.
static void weighted_sum_portable(float *out, const float *weights, const float *values, size_t stride, size_t count,
                                  size_t head_dim) {
    for (size_t d = 0; d < head_dim; d++) out[d] = 0;
    for (size_t t = 0; t < count; t++)
        for (size_t d = 0; d < head_dim; d++) out[d] += weights[t] * values[t * stride + d];
}

#ifdef VLM_X86
// The query stays in registers (head_dim ≤ 64, a multiple of 8) and four keys are summed at once,
// their four horizontal sums folded together by three hadd instructions.
__attribute__((target("avx2,fma")))
static void scores_avx2(const float *query, const float *keys, size_t stride, size_t count, size_t head_dim, float scale,
                        float *scores) {
    const size_t vectors = head_dim / 8;
    __m256 q[8];
    for (size_t c = 0; c < vectors; c++) q[c] = _mm256_loadu_ps(query + 8 * c);
    size_t t = 0;
    for (; t + 4 <= count; t += 4) {
        const float *k = keys + t * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = 0; c < vectors; c++) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(k + 8 * c), q[c], a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(k + stride + 8 * c), q[c], a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(k + 2 * stride + 8 * c), q[c], a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(k + 3 * stride + 8 * c), q[c], a3);
        }
        __m256 folded = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        __m128 sums = _mm_add_ps(_mm256_castps256_ps128(folded), _mm256_extractf128_ps(folded, 1));
        _mm_storeu_ps(scores + t, _mm_mul_ps(sums, _mm_set1_ps(scale)));
    }
    if (t < count) scores_portable(query, keys + t * stride, stride, count - t, head_dim, scale, scores + t);
}

// Up to 64 output floats at a time held in eight registers across all positions.
__attribute__((target("avx2,fma")))
static void weighted_sum_avx2(float *out, const float *weights, const float *values, size_t stride, size_t count,
                              size_t head_dim) {
    for (size_t column = 0; column < head_dim; column += 64) {
        const size_t vectors = (head_dim - column < 64 ? head_dim - column : 64) / 8;
        __m256 acc[8];
        for (size_t c = 0; c < vectors; c++) acc[c] = _mm256_setzero_ps();
        for (size_t t = 0; t < count; t++) {
            const __m256 w = _mm256_broadcast_ss(weights + t);
            const float *v = values + t * stride + column;
            for (size_t c = 0; c < vectors; c++) acc[c] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * c), acc[c]);
        }
        for (size_t c = 0; c < vectors; c++) _mm256_storeu_ps(out + column + 8 * c, acc[c]);
    }
}
#endif

static void scores_of(const float *query, const float *keys, size_t stride, size_t count, size_t head_dim, float scale,
                      float *scores) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2() && head_dim % 8 == 0 && head_dim <= 64) {
        scores_avx2(query, keys, stride, count, head_dim, scale, scores);
        return;
    }
#endif
    scores_portable(query, keys, stride, count, head_dim, scale, scores);
}

static void weighted_sum(float *out, const float *weights, const float *values, size_t stride, size_t count, size_t head_dim) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2() && head_dim % 8 == 0) {
        weighted_sum_avx2(out, weights, values, stride, count, head_dim);
        return;
    }
#endif
    weighted_sum_portable(out, weights, values, stride, count, head_dim);
}

// A decoding task's result for one query head: [maximum score, sum of e^(score − maximum),
// head_dim weighted sums of values].
static size_t partial_floats(size_t head_dim) { return head_dim + 2; }

// Floats of per-thread scratch for decoding: the scores of a chunk, and with half-precision keys
// and values, the chunk's keys and values widened to float32.
static size_t decode_scratch_per_thread(size_t head_dim, int half) {
    return DECODE_CHUNK + (half ? 2 * DECODE_CHUNK * head_dim : 0);
}

// Positions begin..<end of one key/value head, `stride` halves apart, widened to float32 into
// `out` (end − begin rows of head_dim floats).
static void widen(const uint16_t *head, size_t stride, size_t begin, size_t end, size_t head_dim, float *out) {
    if (stride == head_dim) {
        vlm_half_to_float(head + begin * stride, out, (end - begin) * head_dim);
        return;
    }
    for (size_t position = begin; position < end; position++)
        vlm_half_to_float(head + position * stride, out + (position - begin) * head_dim, head_dim);
}

// Where the decoding tasks' partial results start in the scratch space: after every thread's own part.
static float *partials_of(const attention_job *job) {
    return job->scratch + vlm_parallel_threads() * decode_scratch_per_thread(job->head_dim, job->half_keys != NULL);
}

typedef struct {
    const uint16_t *keys, *values;
    size_t position_stride, head_stride, key_count, kv_heads, head_dim;
    float *out;  // kv_heads × key_count × head_dim keys, then as many values
} widen_job;

// Task `index`: the keys (index < kv_heads) or values of one head, all key_count positions.
static void widen_task(void *context, size_t index, size_t thread) {
    (void)thread;
    const widen_job *job = context;
    const int is_value = index >= job->kv_heads;
    const size_t head = index % job->kv_heads, floats = job->key_count * job->head_dim;
    widen((is_value ? job->values : job->keys) + head * job->head_stride, job->position_stride, 0, job->key_count, job->head_dim,
          job->out + (is_value * job->kv_heads + head) * floats);
}

static void decode_task(void *context, size_t index, size_t thread) {
    const attention_job *job = context;
    const size_t chunks = job->chunks, kv_head = index / chunks, chunk = index % chunks;
    const size_t group = job->heads / job->kv_heads, head_dim = job->head_dim;
    const size_t begin = chunk * DECODE_CHUNK, end = begin + DECODE_CHUNK < job->key_count ? begin + DECODE_CHUNK : job->key_count;
    float *scores = job->scratch + thread * decode_scratch_per_thread(head_dim, job->half_keys != NULL);
    const float *keys, *values;
    size_t stride = job->position_stride;
    if (job->half_keys) {
        // Half the bytes come from memory; the widened chunk (2 × 64 KB) stays in the core's cache.
        float *wide_keys = scores + DECODE_CHUNK, *wide_values = wide_keys + DECODE_CHUNK * head_dim;
        widen(job->half_keys + kv_head * job->head_stride, stride, begin, end, head_dim, wide_keys);
        widen(job->half_values + kv_head * job->head_stride, stride, begin, end, head_dim, wide_values);
        keys = wide_keys, values = wide_values, stride = head_dim;
    } else {
        keys = job->keys + kv_head * job->head_stride + begin * stride;
        values = job->values + kv_head * job->head_stride + begin * stride;
    }
    float *partials = partials_of(job);
    for (size_t j = 0; j < group; j++) {
        const size_t head = kv_head * group + j;
        scores_of(job->queries + head * head_dim, keys, stride, end - begin, head_dim, job->scale, scores);
        float maximum = -INFINITY;
        for (size_t i = 0; i < end - begin; i++) maximum = scores[i] > maximum ? scores[i] : maximum;
        float *partial = partials + (head * chunks + chunk) * partial_floats(head_dim);
        partial[0] = maximum;
        partial[1] = vlm_exp_shifted(scores, end - begin, maximum);
        weighted_sum(partial + 2, scores, values, stride, end - begin, head_dim);
    }
}

static void decode(const attention_job *job) {
    const size_t chunks = job->chunks, head_dim = job->head_dim, stride = partial_floats(head_dim);
    vlm_parallel_for(job->kv_heads * chunks, (void *)job, decode_task);
    const float *partials = partials_of(job);
    float weights[chunks];
    for (size_t head = 0; head < job->heads; head++) {
        const float *first = partials + head * chunks * stride;
        float maximum = -INFINITY, total = 0;
        for (size_t chunk = 0; chunk < chunks; chunk++) maximum = first[chunk * stride] > maximum ? first[chunk * stride] : maximum;
        for (size_t chunk = 0; chunk < chunks; chunk++) {
            weights[chunk] = expf(first[chunk * stride] - maximum);
            total += weights[chunk] * first[chunk * stride + 1];
        }
        float *out = job->out + head * head_dim;
        weighted_sum(out, weights, first + 2, stride, chunks, head_dim);
        for (size_t d = 0; d < head_dim; d++) out[d] /= total;
    }
}

// Query rows in a block: the scores of a block are rows × visible keys per thread.
static size_t block_rows(size_t count) { return count < VLM_ATTENTION_BLOCK ? count : VLM_ATTENTION_BLOCK; }

// Where the widened keys start in the scratch of several half-precision queries: after the
// threads' score blocks.
static size_t widened_offset(size_t count, size_t key_count) { return vlm_parallel_threads() * block_rows(count) * key_count; }

size_t vlm_attention_scratch_floats(size_t count, size_t heads, size_t key_count, size_t kv_heads, size_t head_dim, int half) {
    if (count == 1) {
        const size_t chunks = (key_count + DECODE_CHUNK - 1) / DECODE_CHUNK;
        return vlm_parallel_threads() * decode_scratch_per_thread(head_dim, half) + heads * chunks * partial_floats(head_dim);
    }
    return widened_offset(count, key_count) + (half ? 2 * kv_heads * key_count * head_dim : 0);
}

// Runs a job whose pointers and shape are set: decoding for one query, blocks of query rows otherwise.
static void run(attention_job *job) {
    const size_t count = job->count, key_count = job->key_count;
    if (key_count == 0) {
        memset(job->out, 0, count * job->heads * job->head_dim * sizeof(float));
        return;
    }
    job->blocks = (count + VLM_ATTENTION_BLOCK - 1) / VLM_ATTENTION_BLOCK;
    job->chunks = (key_count + DECODE_CHUNK - 1) / DECODE_CHUNK;
    job->scratch_per_thread = block_rows(count) * key_count;
    job->scale = 1.0f / sqrtf((float)job->head_dim);
    if (count == 1) {
        // The single query sees every one of key_count keys (capped by the caller when causal).
        decode(job);
        return;
    }
    vlm_parallel_for(job->blocks * job->heads, job, attention_task);
}

// A single causal query at causal_start sees keys 0...causal_start, like row 0 of a block.
static size_t visible_keys(size_t count, size_t key_count, long causal_start) {
    if (count == 1 && causal_start >= 0 && (size_t)causal_start + 1 < key_count) return (size_t)causal_start + 1;
    return key_count;
}

void vlm_attention(const float *queries, size_t count, size_t heads, const float *keys, const float *values,
                   size_t key_count, size_t kv_heads, size_t head_dim, size_t position_stride, size_t head_stride,
                   long causal_start, float *scratch, float *out) {
    if (count == 0 || heads == 0) return;
    attention_job job = {
        .queries = queries, .keys = keys, .values = values, .out = out, .scratch = scratch,
        .count = count, .heads = heads, .kv_heads = kv_heads, .head_dim = head_dim,
        .key_count = visible_keys(count, key_count, causal_start),
        .position_stride = position_stride, .head_stride = head_stride, .causal_start = causal_start,
    };
    run(&job);
}

void vlm_attention_half(const float *queries, size_t count, size_t heads, const uint16_t *keys, const uint16_t *values,
                        size_t key_count, size_t kv_heads, size_t head_dim, size_t position_stride, size_t head_stride,
                        long causal_start, float *scratch, float *out) {
    if (count == 0 || heads == 0) return;
    key_count = visible_keys(count, key_count, causal_start);
    attention_job job = {
        .queries = queries, .out = out, .scratch = scratch, .count = count, .heads = heads, .kv_heads = kv_heads,
        .head_dim = head_dim, .key_count = key_count, .causal_start = causal_start,
    };
    if (count == 1) {
        job.half_keys = keys, job.half_values = values;
        job.position_stride = position_stride, job.head_stride = head_stride;
    } else {
        // Several queries: every visible key and value widened once (head-major, contiguous) at
        // the end of the scratch space, one task per head of keys or values, then the float32
        // path, which reads them many times.
        float *wide = scratch + widened_offset(count, key_count);
        widen_job widening = {.keys = keys, .values = values, .position_stride = position_stride, .head_stride = head_stride,
                              .key_count = key_count, .kv_heads = kv_heads, .head_dim = head_dim, .out = wide};
        vlm_parallel_for(2 * kv_heads, &widening, widen_task);
        job.keys = wide, job.values = wide + kv_heads * key_count * head_dim;
        job.position_stride = head_dim, job.head_stride = key_count * head_dim;
    }
    run(&job);
}
