#include "weight_kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VLM_X86 1
#endif

// Portable versions: what every CPU runs, and the reference the vector versions must equal (the
// products up to float summation order, the quantizer bit for bit).

void vlm_gemv_q8_portable(const int8_t *values, const float *scales, const int8_t *x_values, const float *x_scales, float *y,
                          size_t row_begin, size_t row_end, size_t cols) {
    const size_t blocks = cols / VLM_Q8_BLOCK;
    for (size_t r = row_begin; r < row_end; r++) {
        const int8_t *q = values + r * cols;
        const float *s = scales + r * blocks;
        float sum = 0;
        for (size_t b = 0; b < blocks; b++) {
            int32_t block = 0;
            for (size_t i = 0; i < VLM_Q8_BLOCK; i++) block += (int32_t)q[b * VLM_Q8_BLOCK + i] * x_values[b * VLM_Q8_BLOCK + i];
            sum += s[b] * x_scales[b] * (float)block;
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

// 32 products a block in integers: maddubs multiplies unsigned by signed bytes, so x's signs
// move onto the weights first (|x| · sign(x)·w). The quantizer never writes −128, so each pair's
// sum (at most 2 · 127 · 127) fits the 16 bits maddubs keeps, and each lane's sum is exact.
__attribute__((target("avx2,fma")))
static void gemv_q8_avx2(const int8_t *values, const float *scales, const int8_t *x_values, const float *x_scales, float *y,
                         size_t row_begin, size_t row_end, size_t cols) {
    const size_t blocks = cols / VLM_Q8_BLOCK;
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t r = row_begin; r < row_end; r++) {
        const int8_t *q = values + r * cols;
        const float *s = scales + r * blocks;
        __m256 sum = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(q + b * VLM_Q8_BLOCK));
            const __m256i x = _mm256_loadu_si256((const __m256i *)(x_values + b * VLM_Q8_BLOCK));
            const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x));
            const __m256 block = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
            sum = _mm256_fmadd_ps(block, _mm256_set1_ps(s[b] * x_scales[b]), sum);
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

void vlm_gemv_q8(const int8_t *values, const float *scales, const int8_t *x_values, const float *x_scales, float *y,
                 size_t row_begin, size_t row_end, size_t cols) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) {
        gemv_q8_avx2(values, scales, x_values, x_scales, y, row_begin, row_end, cols);
        return;
    }
#endif
    vlm_gemv_q8_portable(values, scales, x_values, x_scales, y, row_begin, row_end, cols);
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

// One block of 32: scale = max|v| / 127, values = roundf(v / scale). A block holding a NaN or an
// infinity gets a NaN scale (and zero values), so the products that read it are NaN, as float32
// ones would be; a block too small for its scale's reciprocal (under ~3e-37) is stored as zeros.
static float reciprocal_or_zero(float scale) {
    const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
    return isinf(inverse) ? 0.0f : inverse;
}

static void quantize_q8_block_portable(const float *block, int8_t *values, float *scale) {
    float largest = 0;
    int finite = 1;
    for (size_t i = 0; i < VLM_Q8_BLOCK; i++) {
        finite &= isfinite(block[i]) != 0;
        largest = fmaxf(largest, fabsf(block[i]));
    }
    if (!finite) {
        *scale = NAN;
        memset(values, 0, VLM_Q8_BLOCK);
        return;
    }
    *scale = largest / 127.0f;
    const float inverse = reciprocal_or_zero(*scale);
    for (size_t i = 0; i < VLM_Q8_BLOCK; i++) values[i] = (int8_t)roundf(block[i] * inverse);
}

#ifdef VLM_X86
// The same arithmetic eight lanes at a time. roundf's halves-away-from-zero is built from
// truncation: |v| − trunc(|v|) is exact, so comparing it with 0.5 decides exactly as roundf does.
__attribute__((target("avx2,fma")))
static void quantize_q8_block_avx2(const float *block, int8_t *values, float *scale) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 v[4], largest = _mm256_setzero_ps(), not_finite = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(block + 8 * i);
        const __m256 magnitude = _mm256_andnot_ps(sign_bit, v[i]);
        largest = _mm256_max_ps(magnitude, largest);
        not_finite = _mm256_or_ps(not_finite, _mm256_cmp_ps(magnitude, _mm256_set1_ps(FLT_MAX), _CMP_NLE_UQ));
    }
    if (_mm256_movemask_ps(not_finite)) {
        *scale = NAN;
        memset(values, 0, VLM_Q8_BLOCK);
        return;
    }
    __m128 top = _mm_max_ps(_mm256_castps256_ps128(largest), _mm256_extractf128_ps(largest, 1));
    top = _mm_max_ps(top, _mm_movehl_ps(top, top));
    top = _mm_max_ss(top, _mm_movehdup_ps(top));
    *scale = _mm_cvtss_f32(top) / 127.0f;
    const __m256 inverse = _mm256_set1_ps(reciprocal_or_zero(*scale));
    __m256i rounded[4];
    for (int i = 0; i < 4; i++) {
        const __m256 scaled = _mm256_mul_ps(v[i], inverse), magnitude = _mm256_andnot_ps(sign_bit, scaled);
        const __m256 whole = _mm256_round_ps(magnitude, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        const __m256 up = _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(magnitude, whole), _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                        _mm256_set1_ps(1.0f));
        rounded[i] = _mm256_cvtps_epi32(_mm256_or_ps(_mm256_add_ps(whole, up), _mm256_and_ps(sign_bit, scaled)));
    }
    // The packs interleave 128-bit lanes; the permutation puts the 32 values back in order.
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(rounded[0], rounded[1]), _mm256_packs_epi32(rounded[2], rounded[3]));
    _mm256_storeu_si256((__m256i *)values, _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}
#endif

void vlm_quantize_q8_row(const float *row, int8_t *values, float *scales, size_t cols) {
#ifdef VLM_X86
    if (vlm_weight_kernels_use_avx2()) {
        for (size_t b = 0; b < cols / VLM_Q8_BLOCK; b++)
            quantize_q8_block_avx2(row + b * VLM_Q8_BLOCK, values + b * VLM_Q8_BLOCK, scales + b);
        return;
    }
#endif
    vlm_quantize_q8_row_portable(row, values, scales, cols);
}

void vlm_quantize_q8_row_portable(const float *row, int8_t *values, float *scales, size_t cols) {
    for (size_t b = 0; b < cols / VLM_Q8_BLOCK; b++)
        quantize_q8_block_portable(row + b * VLM_Q8_BLOCK, values + b * VLM_Q8_BLOCK, scales + b);
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
