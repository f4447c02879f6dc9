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

// Half precision. The portable conversions work on the bits; with F16C the CPU converts eight at
// a time, with the same rounding (to nearest, ties to even).
static uint16_t float_to_half_portable(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    const uint32_t sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);                  // NaN stays NaN (quiet)
    if (magnitude >= 0x47800000u) return (uint16_t)(sign | 0x7c00u);                 // ≥ 65536: infinity
    if (magnitude < 0x38800000u) {
        // Below half's smallest normal (2^-14): adding 0.5 lines the half subnormal's unit (2^-24)
        // up with float's last mantissa bit, so the float addition rounds exactly as half would.
        float shifted;
        memcpy(&shifted, &magnitude, sizeof shifted);
        shifted += 0.5f;
        uint32_t rounded;
        memcpy(&rounded, &shifted, sizeof rounded);
        return (uint16_t)(sign | (rounded - 0x3f000000u));
    }
    // Normal: rebias the exponent (127 → 15) and round the 13 dropped mantissa bits to nearest
    // even; a carry out of the mantissa moves into the exponent, up to infinity, as it should.
    const uint32_t odd = (magnitude >> 13) & 1u;
    return (uint16_t)(sign | ((magnitude - 0x38000000u + 0xfffu + odd) >> 13));
}

static float half_to_float_portable(uint16_t half) {
    const uint32_t sign = (uint32_t)(half & 0x8000u) << 16, exponent = (half >> 10) & 0x1fu, mantissa = half & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else {
        const float subnormal = (float)mantissa * 0x1p-24f;  // exact: 10 bits times a power of two
        memcpy(&bits, &subnormal, sizeof bits);
        bits |= sign;
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

#ifdef VLM_X86
// F16C on its own flag: a virtual machine may show AVX2 and FMA but hide F16C, and that must
// not cost the other AVX2 kernels.
static int use_f16c(void) {
    static int decided = -1;
    if (decided < 0) {
        __builtin_cpu_init();
        decided = vlm_weight_kernels_use_avx2() && __builtin_cpu_supports("f16c");
    }
    return decided;
}

__attribute__((target("avx2,f16c")))
static size_t float_to_half_f16c(const float *source, uint16_t *destination, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(destination + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(source + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return i;
}

__attribute__((target("avx2,f16c")))
static size_t half_to_float_f16c(const uint16_t *source, float *destination, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(destination + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(source + i))));
    return i;
}
#endif

#ifdef __aarch64__
// ARM has half precision in its scalar and vector units; the compiler's conversions of
// _Float16 use them (rounding to nearest even, the default mode).
static size_t float_to_half_arm(const float *source, uint16_t *destination, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const _Float16 half = (_Float16)source[i];
        memcpy(destination + i, &half, sizeof half);
    }
    return count;
}

static size_t half_to_float_arm(const uint16_t *source, float *destination, size_t count) {
    for (size_t i = 0; i < count; i++) {
        _Float16 half;
        memcpy(&half, source + i, sizeof half);
        destination[i] = (float)half;
    }
    return count;
}
#endif

// The CPU's conversions where it has them (F16C eight at a time, ARM's one at a time), the
// portable code for what they leave.
void vlm_float_to_half(const float *source, uint16_t *destination, size_t count) {
    size_t i = 0;
#ifdef VLM_X86
    if (use_f16c()) i = float_to_half_f16c(source, destination, count);
#elif defined(__aarch64__)
    i = float_to_half_arm(source, destination, count);
#endif
    vlm_float_to_half_portable(source + i, destination + i, count - i);
}

void vlm_half_to_float(const uint16_t *source, float *destination, size_t count) {
    size_t i = 0;
#ifdef VLM_X86
    if (use_f16c()) i = half_to_float_f16c(source, destination, count);
#elif defined(__aarch64__)
    i = half_to_float_arm(source, destination, count);
#endif
    vlm_half_to_float_portable(source + i, destination + i, count - i);
}

void vlm_float_to_half_portable(const float *source, uint16_t *destination, size_t count) {
    for (size_t i = 0; i < count; i++) destination[i] = float_to_half_portable(source[i]);
}

void vlm_half_to_float_portable(const uint16_t *source, float *destination, size_t count) {
    for (size_t i = 0; i < count; i++) destination[i] = half_to_float_portable(source[i]);
}
