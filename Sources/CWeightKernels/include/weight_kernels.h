#ifndef VLM_WEIGHT_KERNELS_H
#define VLM_WEIGHT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Block size of the 8-bit format: each run of 32 weights along a row shares one float scale
/// (llama.cpp's Q8_0 layout, with a float32 instead of a float16 scale).
#define VLM_Q8_BLOCK 32

/// y[r] = sum_c dequant(w[r, c]) * x[c] for rows [row_begin, row_end) of a rows × cols matrix
/// whose rows are stored contiguously (cols int8 values and cols / 32 scales per row).
void vlm_gemv_q8(const int8_t *values, const float *scales, const float *x, float *y,
                 size_t row_begin, size_t row_end, size_t cols);

/// The same for bfloat16 weights (the upper 16 bits of a float32).
void vlm_gemv_bf16(const uint16_t *values, const float *x, float *y, size_t row_begin, size_t row_end, size_t cols);

/// Rows [row_begin, row_end) of the matrix as float32, into out (row_end - row_begin) × cols.
void vlm_dequantize_q8(const int8_t *values, const float *scales, float *out, size_t row_begin, size_t row_end, size_t cols);
void vlm_dequantize_bf16(const uint16_t *values, float *out, size_t row_begin, size_t row_end, size_t cols);

/// Quantizes one row of cols floats (cols a multiple of 32): scale = max|w| / 127 per block,
/// values rounded half away from zero.
void vlm_quantize_q8_row(const float *row, int8_t *values, float *scales, size_t cols);

/// Softmax of n floats in place, the maximum subtracted first.
void vlm_softmax(float *row, size_t n);

/// GELU with the tanh approximation (`gelu_pytorch_tanh`), in place.
void vlm_gelu_tanh(float *x, size_t n);

/// gate[i] = SiLU(gate[i]) * up[i]: Llama's MLP activation, in place.
void vlm_silu_product(float *gate, const float *up, size_t n);

/// Whether the AVX2+FMA paths are in use (decided once, from the CPU at run time).
int vlm_weight_kernels_use_avx2(void);

/// The matrix-vector products above over all rows, split across a small pool of worker threads
/// (one per extra core, created on first use) that spin briefly between calls and then sleep:
/// decoding calls these hundreds of times per token, too often to wake sleeping threads each time.
void vlm_parallel_gemv_q8(const int8_t *values, const float *scales, const float *x, float *y, size_t rows, size_t cols);
void vlm_parallel_gemv_bf16(const uint16_t *values, const float *x, float *y, size_t rows, size_t cols);

#endif
