#include "weight_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VLM_X86 1
#endif

// Portable versions: what every CPU runs, and the reference the vector versions must equal up
// to summation order.

static void gemv_q8_portable(const int8_t *values, const float *scales, const float *x, float *y,
                             size_t row_begin, size_t row_end, size_t cols) {
    const size_t blocks = cols / VLM_Q8_BLOCK;
    for (size_t r = row_begin; r < row_end; r++) {
        const int8_t *q = values + r * cols;
        const float *s = scales + r * blocks;
        float sum = 0;
        for (size_t b = 0; b < blocks; b++) {
            float block = 0;
            for (size_t i = 0; i < VLM_Q8_BLOCK; i++) block += (float)q[b * VLM_Q8_BLOCK + i] * x[b * VLM_Q8_BLOCK + i];
            sum += s[b] * block;
        }
        y[r - row_begin] = sum;
    }
}

static inline float bf16_to_float(uint16_t value) {
    uint32_t bits = (uint32_t)value << 16;
    float result;
    memcpy(&result, &bits, sizeof result);
    return result;
}

static void gemv_bf16_portable(const uint16_t *values, const float *x, float *y, size_t row_begin, size_t row_end, size_t cols) {
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t *w = values + r * cols;
        float sum = 0;
        for (size_t c = 0; c < cols; c++) sum += bf16_to_float(w[c]) * x[c];
        y[r - row_begin] = sum;
    }
}

#ifdef VLM_X86

__attribute__((target("avx2,fma")))
static inline float horizontal_sum(__m256 v) {
    __m128 low = _mm256_castps256_ps128(v), high = _mm256_extractf128_ps(v, 1);
    __m128 sum = _mm_add_ps(low, high);
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}

__attribute__((target("avx2,fma")))
static void gemv_q8_avx2(const int8_t *values, const float *scales, const float *x, float *y,
                         size_t row_begin, size_t row_end, size_t cols) {
    const size_t blocks = cols / VLM_Q8_BLOCK;
    for (size_t r = row_begin; r < row_end; r++) {
        const int8_t *q = values + r * cols;
        const float *s = scales + r * blocks;
        __m256 sum = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++) {
            const int8_t *qb = q + b * VLM_Q8_BLOCK;
            const float *xb = x + b * VLM_Q8_BLOCK;
            __m128i low = _mm_loadu_si128((const __m128i *)qb), high = _mm_loadu_si128((const __m128i *)(qb + 16));
            __m256 w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(low));
            __m256 w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(low, 8)));
            __m256 w2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(high));
            __m256 w3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(high, 8)));
            __m256 block = _mm256_mul_ps(w0, _mm256_loadu_ps(xb));
            block = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xb + 8), block);
            block = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xb + 16), block);
            block = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xb + 24), block);
            sum = _mm256_fmadd_ps(block, _mm256_broadcast_ss(s + b), sum);
        }
        y[r - row_begin] = horizontal_sum(sum);
    }
}

__attribute__((target("avx2,fma")))
static void gemv_bf16_avx2(const uint16_t *values, const float *x, float *y, size_t row_begin, size_t row_end, size_t cols) {
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t *w = values + r * cols;
        __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 16 <= cols; c += 16) {
            __m256i wide0 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + c))), 16);
            __m256i wide1 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + c + 8))), 16);
            sum0 = _mm256_fmadd_ps(_mm256_castsi256_ps(wide0), _mm256_loadu_ps(x + c), sum0);
            sum1 = _mm256_fmadd_ps(_mm256_castsi256_ps(wide1), _mm256_loadu_ps(x + c + 8), sum1);
        }
        float sum = horizontal_sum(_mm256_add_ps(sum0, sum1));
        for (; c < cols; c++) sum += bf16_to_float(w[c]) * x[c];
        y[r - row_begin] = sum;
    }
}

static int detect_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#endif

int vlm_weight_kernels_use_avx2(void) {
#ifdef VLM_X86
    static int decided = -1;
    if (decided < 0) decided = detect_avx2();
    return decided;
#else
    return 0;
#endif
}

void vlm_gemv_q8(const int8_t *values, const float *scales, const float *x, float *y,
                 size_t row_begin, size_t row_end, size_t cols) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) {
        gemv_q8_avx2(values, scales, x, y, row_begin, row_end, cols);
        return;
    }
#endif
    gemv_q8_portable(values, scales, x, y, row_begin, row_end, cols);
}

void vlm_gemv_bf16(const uint16_t *values, const float *x, float *y, size_t row_begin, size_t row_end, size_t cols) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) {
        gemv_bf16_avx2(values, x, y, row_begin, row_end, cols);
        return;
    }
#endif
    gemv_bf16_portable(values, x, y, row_begin, row_end, cols);
}

void vlm_dequantize_q8(const int8_t *values, const float *scales, float *out, size_t row_begin, size_t row_end, size_t cols) {
    const size_t blocks = cols / VLM_Q8_BLOCK;
    for (size_t r = row_begin; r < row_end; r++) {
        float *o = out + (r - row_begin) * cols;
        for (size_t c = 0; c < cols; c++) o[c] = scales[r * blocks + c / VLM_Q8_BLOCK] * (float)values[r * cols + c];
    }
}

void vlm_dequantize_bf16(const uint16_t *values, float *out, size_t row_begin, size_t row_end, size_t cols) {
    for (size_t r = row_begin; r < row_end; r++) {
        for (size_t c = 0; c < cols; c++) out[(r - row_begin) * cols + c] = bf16_to_float(values[r * cols + c]);
    }
}

void vlm_quantize_q8_row(const float *row, int8_t *values, float *scales, size_t cols) {
    for (size_t b = 0; b < cols / VLM_Q8_BLOCK; b++) {
        float largest = 0;
        for (size_t i = 0; i < VLM_Q8_BLOCK; i++) largest = fmaxf(largest, fabsf(row[b * VLM_Q8_BLOCK + i]));
        const float scale = largest / 127.0f;
        const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
        scales[b] = scale;
        for (size_t i = 0; i < VLM_Q8_BLOCK; i++) values[b * VLM_Q8_BLOCK + i] = (int8_t)roundf(row[b * VLM_Q8_BLOCK + i] * inverse);
    }
}
