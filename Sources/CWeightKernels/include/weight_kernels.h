#ifndef VLM_WEIGHT_KERNELS_H
#define VLM_WEIGHT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Block size of the 8-bit format: each run of 32 weights along a row shares one float scale
/// (llama.cpp's Q8_0 layout, with a float32 instead of a float16 scale).
#define VLM_Q8_BLOCK 32

/// y[r] = sum_c dequant(w[r, c]) * dequant(x[c]) for rows [row_begin, row_end) of a rows × cols
/// matrix whose rows are stored contiguously (cols int8 values and cols / 32 scales per row), with
/// x in the same 8-bit format (vlm_quantize_q8_row): a block's products are summed in integers
/// (exactly) and then scaled, as llama.cpp's Q8_0 dot product does.
void vlm_gemv_q8(const int8_t *values, const float *scales, const int8_t *x_values, const float *x_scales, float *y,
                 size_t row_begin, size_t row_end, size_t cols);

/// The same for bfloat16 weights (the upper 16 bits of a float32).
void vlm_gemv_bf16(const uint16_t *values, const float *x, float *y, size_t row_begin, size_t row_end, size_t cols);

/// Rows [row_begin, row_end) of the matrix as float32, into out (row_end - row_begin) × cols.
void vlm_dequantize_q8(const int8_t *values, const float *scales, float *out, size_t row_begin, size_t row_end, size_t cols);
void vlm_dequantize_bf16(const uint16_t *values, float *out, size_t row_begin, size_t row_end, size_t cols);

/// Quantizes one row of cols floats (cols a multiple of 32): scale = max|w| / 127 per block,
/// values rounded half away from zero (never −128). A block holding a NaN or an infinity gets a
/// NaN scale, so that what reads it is NaN, not a plausible number.
void vlm_quantize_q8_row(const float *row, int8_t *values, float *scales, size_t cols);

/// The portable code of the two above, which CPUs without AVX2 run (exposed for tests: the
/// vector versions must give the same values).
void vlm_quantize_q8_row_portable(const float *row, int8_t *values, float *scales, size_t cols);
void vlm_gemv_q8_portable(const int8_t *values, const float *scales, const int8_t *x_values, const float *x_scales, float *y,
                          size_t row_begin, size_t row_end, size_t cols);

/// x[i] = e^(x[i] − shift) in place; returns their sum.
float vlm_exp_shifted(float *x, size_t n, float shift);

/// Softmax of n floats in place, the maximum subtracted first.
void vlm_softmax(float *row, size_t n);

/// GELU with the tanh approximation (`gelu_pytorch_tanh`), in place; long arrays are split into
/// chunks over the thread team (below).
void vlm_gelu_tanh(float *x, size_t n);

/// gate[i] = SiLU(gate[i]) * up[i]: Llama's MLP activation, in place, chunked like vlm_gelu_tanh.
void vlm_silu_product(float *gate, const float *up, size_t n);

/// IEEE 754 half precision (float16) from float32, rounded to nearest even (overflow to infinity),
/// and back: the 16-bit KV cache's storage. F16C (x86) or the ARM conversions do the work where
/// the CPU has them; the `_portable` forms are the code used without them (exposed for tests).
void vlm_float_to_half(const float *source, uint16_t *destination, size_t count);
void vlm_half_to_float(const uint16_t *source, float *destination, size_t count);
void vlm_float_to_half_portable(const float *source, uint16_t *destination, size_t count);
void vlm_half_to_float_portable(const uint16_t *source, float *destination, size_t count);

/// Whether the AVX2+FMA paths are in use (decided once, from the CPU at run time).
int vlm_weight_kernels_use_avx2(void);

/// A task of a parallel job: `index` is the task, `thread` the team member running it
/// (0 is the caller; below vlm_parallel_threads()), for per-thread scratch space.
typedef void (*vlm_task)(void *context, size_t index, size_t thread);

/// The team: the calling thread plus one worker per extra core, created on first use. Workers
/// spin briefly between jobs and then sleep: decoding issues jobs hundreds of times per token,
/// too often to wake sleeping threads each time. Starting the team sets OpenBLAS to one thread
/// (process-wide): every product here runs single-threaded inside a team task.
size_t vlm_parallel_threads(void);

/// Runs task(context, i, thread) once for every i in [0, count) on the team, handing indices out
/// in order as threads come free; returns when all are done. While another caller holds the
/// team, runs them all on the calling thread.
void vlm_parallel_for(size_t count, void *context, vlm_task task);

/// y = x · wᵀ (+ bias) on the team: x is rows × in, w out × in (PyTorch's nn.Linear layout),
/// y rows × out, bias out floats or NULL. Float32 weights go to OpenBLAS as they are; 16/8-bit
/// weights are multiplied one row at a time by the matrix-vector kernels above, or turned back
/// into float32 a slab of output features at a time for OpenBLAS when there are several rows.
/// With 8-bit weights one row is itself rounded to 8 bits per block of 32 (as llama.cpp does
/// when decoding): integer dot products read the weights at memory speed, where converting them
/// to float32 kept a core busy at half that. `scratch` holds vlm_linear_scratch_floats(rows, in,
/// out) floats.
void vlm_linear_f32(const float *x, size_t rows, const float *w, size_t in, size_t out, const float *bias, float *y);
void vlm_linear_bf16(const float *x, size_t rows, const uint16_t *w, size_t in, size_t out, const float *bias, float *scratch,
                     float *y);
void vlm_linear_q8(const float *x, size_t rows, const int8_t *w, const float *scales, size_t in, size_t out, const float *bias,
                   float *scratch, float *y);
size_t vlm_linear_scratch_floats(size_t rows, size_t in, size_t out);

/// Llama's RMSNorm of each row of x (rows × width), x / sqrt(mean(x²) + epsilon) · weight, and
/// LayerNorm, (x − mean) / sqrt(variance + epsilon) · weight + bias (biased variance), into out.
void vlm_rms_norm(const float *x, size_t rows, size_t width, const float *weight, float epsilon, float *out);
void vlm_layer_norm(const float *x, size_t rows, size_t width, const float *weight, const float *bias, float epsilon, float *out);

/// Query rows per task in vlm_attention.
#define VLM_ATTENTION_BLOCK 128

/// Floats of scratch space vlm_attention (half = 0) or vlm_attention_half (half = 1) needs.
size_t vlm_attention_scratch_floats(size_t count, size_t heads, size_t key_count, size_t kv_heads, size_t head_dim, int half);

/// Scaled-dot-product attention with grouped-query heads, over the team. `queries` is
/// count × heads × head_dim; `out` is count × heads × head_dim. Key and value head g of position p
/// start at element p · position_stride + g · head_stride of `keys` and `values` (head_dim each);
/// query head h reads key/value head h / (heads / kv_heads). With causal_start ≥ 0, query row r
/// sits at position causal_start + r and sees keys 0...causal_start + r; with −1 it sees all.
void vlm_attention(const float *queries, size_t count, size_t heads, const float *keys, const float *values,
                   size_t key_count, size_t kv_heads, size_t head_dim, size_t position_stride, size_t head_stride,
                   long causal_start, float *scratch, float *out);

/// The same with keys and values in half precision (vlm_float_to_half; the strides count
/// 16-bit elements), computed in float32: a single query widens each chunk of positions as it
/// reads it; several queries widen the keys they can see once, into the scratch space, and take
/// the float32 path.
void vlm_attention_half(const float *queries, size_t count, size_t heads, const uint16_t *keys, const uint16_t *values,
                        size_t key_count, size_t kv_heads, size_t head_dim, size_t position_stride, size_t head_stride,
                        long causal_start, float *scratch, float *out);

#endif
