// Softmax and the activations built on e^x, eight floats at a time with AVX2+FMA when the CPU has
// them (decided at run time, as for the matrix-vector kernels), one at a time otherwise. Both
// paths evaluate the same function: Cephes' single-precision exp polynomial (about 1 ulp), with
// the argument reduced exactly by ln 2 split in two. In Swift, the same SIMD8 code compiled to
// out-of-line min/max calls per vector and scalar reductions: softmax over the vision encoder's
// 1024-key attention rows was 8 % of a frame's time.
#include "weight_kernels.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VLM_X86 1
#endif

// e^x for x clamped to [-87.3, 88.3], where 2^n and the result are finite, normal floats.
static inline float exp_scalar(float x) {
    x = fminf(fmaxf(x, -87.3f), 88.3f);
    // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
    const float shifter = 12582912.0f;
    float shifted = x * 1.44269504f + shifter;
    float n = shifted - shifter;
    float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; int32_t i; } bits = {shifted}, scale;
    scale.i = (bits.i - 0x4B400000 + 127) << 23;
    return p * scale.f;
}

static float exp_shifted_portable(float *x, size_t n, float shift) {
    float total = 0;
    for (size_t i = 0; i < n; i++) { x[i] = exp_scalar(x[i] - shift); total += x[i]; }
    return total;
}

static void softmax_portable(float *row, size_t n) {
    float maximum = -INFINITY;
    for (size_t i = 0; i < n; i++) maximum = fmaxf(maximum, row[i]);
    float inverse = 1.0f / exp_shifted_portable(row, n, maximum);
    for (size_t i = 0; i < n; i++) row[i] *= inverse;
}

// GELU with the tanh approximation as x * sigmoid(2u) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3),
// which equals 0.5 x (1 + tanh u).
static const float root_2_over_pi = 0.7978845608f;

static float gelu_tanh_scalar(float x) {
    float u = root_2_over_pi * (x + 0.044715f * x * x * x);
    return x / (1.0f + exp_scalar(-2.0f * u));
}

static float silu_scalar(float x) { return x / (1.0f + exp_scalar(-x)); }

#ifdef VLM_X86
__attribute__((target("avx2,fma")))
static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 shifter = _mm256_set1_ps(12582912.0f);
    __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), shifter);
    __m256 n = _mm256_sub_ps(shifted, shifter);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i exponent = _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000)),
                                        _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(exponent, 23)));
}

// Loads the last n < 8 floats of a row into a vector (the other lanes `fill`), and stores them back.
__attribute__((target("avx2,fma")))
static inline __m256 load_tail(const float *p, size_t n, float fill) {
    float lanes[8] = {fill, fill, fill, fill, fill, fill, fill, fill};
    for (size_t i = 0; i < n; i++) lanes[i] = p[i];
    return _mm256_loadu_ps(lanes);
}

__attribute__((target("avx2,fma")))
static inline void store_tail(float *p, size_t n, __m256 v) {
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (size_t i = 0; i < n; i++) p[i] = lanes[i];
}

__attribute__((target("avx2,fma")))
static inline float horizontal(__m256 v, int maximum) {
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    float result = lanes[0];
    for (int i = 1; i < 8; i++) result = maximum ? fmaxf(result, lanes[i]) : result + lanes[i];
    return result;
}

__attribute__((target("avx2,fma")))
static float exp_shifted_avx2(float *x, size_t n, float shift) {
    size_t full = n & ~(size_t)7, tail = n - full;
    const __m256 subtrahend = _mm256_set1_ps(shift);
    __m256 sum = _mm256_setzero_ps();
    for (size_t i = 0; i < full; i += 8) {
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), subtrahend));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = horizontal(sum, 0);
    if (tail) {
        float lanes[8];
        _mm256_storeu_ps(lanes, exp_avx2(_mm256_sub_ps(load_tail(x + full, tail, 0), subtrahend)));
        for (size_t i = 0; i < tail; i++) { x[full + i] = lanes[i]; total += lanes[i]; }
    }
    return total;
}

__attribute__((target("avx2,fma")))
static void softmax_avx2(float *row, size_t n) {
    size_t full = n & ~(size_t)7, tail = n - full;
    __m256 m = _mm256_set1_ps(-INFINITY);
    for (size_t i = 0; i < full; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(row + i));
    if (tail) m = _mm256_max_ps(m, load_tail(row + full, tail, -INFINITY));
    float inverse = 1.0f / exp_shifted_avx2(row, n, horizontal(m, 1));
    for (size_t i = 0; i < full; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), _mm256_set1_ps(inverse)));
    for (size_t i = full; i < n; i++) row[i] *= inverse;
}

__attribute__((target("avx2,fma")))
static __m256 gelu_tanh_avx2(__m256 x) {
    __m256 cube = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(root_2_over_pi), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), cube, x));
    __m256 e = exp_avx2(_mm256_mul_ps(_mm256_set1_ps(-2.0f), u));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

__attribute__((target("avx2,fma")))
static __m256 silu_avx2(__m256 x) {
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

__attribute__((target("avx2,fma")))
static void gelu_tanh_rows_avx2(float *x, size_t n) {
    size_t full = n & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) _mm256_storeu_ps(x + i, gelu_tanh_avx2(_mm256_loadu_ps(x + i)));
    if (n > full) store_tail(x + full, n - full, gelu_tanh_avx2(load_tail(x + full, n - full, 0)));
}

__attribute__((target("avx2,fma")))
static void silu_product_avx2(float *gate, const float *up, size_t n) {
    size_t full = n & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8)
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu_avx2(_mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
    for (size_t i = full; i < n; i++) gate[i] = silu_scalar(gate[i]) * up[i];
}

#endif

float vlm_exp_shifted(float *x, size_t n, float shift) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) return exp_shifted_avx2(x, n, shift);
#endif
    return exp_shifted_portable(x, n, shift);
}

void vlm_softmax(float *row, size_t n) {
    if (n == 0) return;
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) { softmax_avx2(row, n); return; }
#endif
    softmax_portable(row, n);
}

static void gelu_tanh_serial(float *x, const float *unused, size_t n) {
    (void)unused;
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) { gelu_tanh_rows_avx2(x, n); return; }
#endif
    for (size_t i = 0; i < n; i++) x[i] = gelu_tanh_scalar(x[i]);
}

static void silu_product_serial(float *gate, const float *up, size_t n) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) { silu_product_avx2(gate, up, n); return; }
#endif
    for (size_t i = 0; i < n; i++) gate[i] = silu_scalar(gate[i]) * up[i];
}

// Long arrays (a prefill's or a vision encoder's activations) are cut into chunks for the thread team.
enum { CHUNK = 1 << 14 };

typedef struct {
    float *x;
    const float *other;
    size_t n;
    void (*apply)(float *, const float *, size_t);
} elementwise_job;

static void elementwise_chunk(void *context, size_t index, size_t thread) {
    (void)thread;
    const elementwise_job *job = context;
    const size_t begin = index * CHUNK, length = job->n - begin < CHUNK ? job->n - begin : CHUNK;
    job->apply(job->x + begin, job->other ? job->other + begin : NULL, length);
}

static void elementwise(float *x, const float *other, size_t n, void (*apply)(float *, const float *, size_t)) {
    if (n <= CHUNK) { apply(x, other, n); return; }
    elementwise_job job = {x, other, n, apply};
    vlm_parallel_for((n + CHUNK - 1) / CHUNK, &job, elementwise_chunk);
}

void vlm_gelu_tanh(float *x, size_t n) { elementwise(x, NULL, n, gelu_tanh_serial); }

void vlm_silu_product(float *gate, const float *up, size_t n) { elementwise(gate, up, n, silu_product_serial); }
