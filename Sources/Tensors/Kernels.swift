import COpenBLAS
import CWeightKernels
import Foundation

/// The numeric building blocks of transformer layers, on row-major float32 buffers.
/// Matrix products (attention included) are OpenBLAS calls spread over the cores by one thread
/// team (`vlm_parallel_for`), as are the activations; the rest are plain loops over rows that
/// the compiler vectorises.
public enum Kernels {
    /// `y = x · wᵀ (+ bias)`: x is rows × inFeatures, w is outFeatures × inFeatures
    /// (PyTorch's `nn.Linear` layout), y is rows × outFeatures. OpenBLAS, split over the thread team.
    public static func linear(_ x: [Float], rows: Int, weight: [Float], inFeatures: Int, outFeatures: Int, bias: [Float]? = nil) -> [Float] {
        precondition(x.count == rows * inFeatures && weight.count == outFeatures * inFeatures && (bias?.count ?? outFeatures) == outFeatures)
        return [Float](unsafeUninitializedCapacity: rows * outFeatures) { y, initialized in
            vlm_linear_f32(x, rows, weight, inFeatures, outFeatures, bias, y.baseAddress)
            initialized = rows * outFeatures
        }
    }

    /// Llama's RMSNorm over each row: `x / sqrt(mean(x²) + eps) · weight`.
    public static func rmsNorm(_ x: [Float], width: Int, weight: [Float], epsilon: Float) -> [Float] {
        precondition(weight.count == width && x.count % width == 0)
        return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            vlm_rms_norm(x, x.count / width, width, weight, epsilon, out.baseAddress)
            initialized = x.count
        }
    }

    /// LayerNorm over each row: `(x - mean) / sqrt(var + eps) · weight + bias` (biased variance).
    public static func layerNorm(_ x: [Float], width: Int, weight: [Float], bias: [Float], epsilon: Float) -> [Float] {
        precondition(weight.count == width && bias.count == width && x.count % width == 0)
        return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            vlm_layer_norm(x, x.count / width, width, weight, bias, epsilon, out.baseAddress)
            initialized = x.count
        }
    }

    /// SiLU (x·σ(x)) of `gate`, times `up`, elementwise: Llama's MLP activation.
    public static func siluProduct(_ gate: consuming [Float], _ up: [Float]) -> [Float] {
        precondition(gate.count == up.count)
        var out = consume gate
        out.withUnsafeMutableBufferPointer { if let base = $0.baseAddress { vlm_silu_product(base, up, $0.count) } }
        return out
    }

    /// GELU, exact (erf) or with the tanh approximation (`gelu_pytorch_tanh`), the latter as
    /// x·σ(2u) = x / (1 + e^(−2u)), u = √(2/π)(x + 0.044715x³), which equals 0.5x(1 + tanh u).
    public static func gelu(_ x: consuming [Float], approximateTanh: Bool) -> [Float] {
        var out = consume x
        if approximateTanh {
            out.withUnsafeMutableBufferPointer { if let base = $0.baseAddress { vlm_gelu_tanh(base, $0.count) } }
        } else {
            for i in out.indices { out[i] = 0.5 * out[i] * (1 + erf(out[i] / Float(2).squareRoot())) }
        }
        return out
    }

    /// `a += b`, elementwise.
    public static func add(_ a: inout [Float], _ b: [Float]) {
        precondition(a.count == b.count)
        cblas_saxpy(Int32(a.count), 1, b, 1, &a, 1)
    }

    /// Softmax of a row in place, computed stably (max subtracted).
    public static func softmax(_ row: UnsafeMutableBufferPointer<Float>) {
        guard let base = row.baseAddress else { return }
        vlm_softmax(base, row.count)
    }

    /// Log-softmax of a row (for log-probabilities), in double precision for the sum.
    public static func logSoftmax(_ row: [Float]) -> [Float] {
        guard let maximum = row.max() else { return [] }
        var sum = 0.0
        for value in row { sum += Foundation.exp(Double(value - maximum)) }
        let logSum = Float(Foundation.log(sum))
        return row.map { $0 - maximum - logSum }
    }

    /// Where key/value head g of position p starts in a keys or values buffer:
    /// p · position + g · head elements in (floats, or halves for half-precision keys and values).
    public struct KeyValueStrides: Sendable {
        public var position: Int
        public var head: Int
        public init(position: Int, head: Int) {
            self.position = position
            self.head = head
        }
    }

    /// Scaled-dot-product attention with grouped-query heads.
    ///
    /// `queries` is count × heads × headDim; `keys` and `values` hold keyCount positions of kvHeads
    /// heads of headDim floats, laid out by `strides` (default: position-major, keyCount × kvHeads
    /// × headDim, as a linear layer writes them); query head h reads key/value head
    /// h / (heads / kvHeads). With `causalStart`, query row r sits at position causalStart + r and
    /// sees keys 0...causalStart + r; without, it sees all. Returns count × heads × headDim.
    /// Tasks on the thread team (`vlm_attention`): each head's blocks of query rows, or for a
    /// single query, chunks of positions serving all the query heads of a key/value head. A causal
    /// block is multiplied only with the keys its last row can see. Softmax runs in float32 as in PyTorch.
    public static func attention(queries: [Float], count: Int, heads: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                                 keyCount: Int, kvHeads: Int, headDim: Int, strides: KeyValueStrides? = nil,
                                 causalStart: Int?) -> [Float] {
        attention(queries: queries, count: count, heads: heads, keyCount: keyCount, kvHeads: kvHeads, headDim: headDim,
                  half: false) { scratch, out in
            let strides = strides ?? KeyValueStrides(position: kvHeads * headDim, head: headDim)
            vlm_attention(queries, count, heads, keys, values, keyCount, kvHeads, headDim, strides.position, strides.head,
                          causalStart ?? -1, scratch, out)
        }
    }

    /// The same over keys and values stored in IEEE half precision (`toHalf`), laid out by
    /// `strides`; the arithmetic is float32.
    public static func attention(queries: [Float], count: Int, heads: Int, halfKeys keys: UnsafePointer<UInt16>,
                                 halfValues values: UnsafePointer<UInt16>, keyCount: Int, kvHeads: Int, headDim: Int,
                                 strides: KeyValueStrides, causalStart: Int?) -> [Float] {
        attention(queries: queries, count: count, heads: heads, keyCount: keyCount, kvHeads: kvHeads, headDim: headDim,
                  half: true) { scratch, out in
            vlm_attention_half(queries, count, heads, keys, values, keyCount, kvHeads, headDim, strides.position, strides.head,
                               causalStart ?? -1, scratch, out)
        }
    }

    /// Checks the shapes, lends `kernel` its scratch space and fills the result it writes.
    private static func attention(queries: [Float], count: Int, heads: Int, keyCount: Int, kvHeads: Int, headDim: Int, half: Bool,
                                  kernel: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        precondition(queries.count == count * heads * headDim && heads % kvHeads == 0 && keyCount >= count)
        // Written by the kernel before it is read: no need to clear it.
        let scratch = UnsafeMutablePointer<Float>.allocate(
            capacity: vlm_attention_scratch_floats(count, heads, keyCount, kvHeads, headDim, half ? 1 : 0))
        defer { scratch.deallocate() }
        return [Float](unsafeUninitializedCapacity: count * heads * headDim) { out, initialized in
            kernel(scratch, out.baseAddress!)
            initialized = count * heads * headDim
        }
    }

    /// IEEE half precision (binary16) bit patterns of `source`, rounded to nearest even.
    public static func toHalf(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutablePointer<UInt16>) {
        guard let base = source.baseAddress else { return }
        vlm_float_to_half(base, destination, source.count)
    }

    /// Floats from IEEE half precision bit patterns.
    public static func fromHalf(_ source: [UInt16]) -> [Float] {
        [Float](unsafeUninitializedCapacity: source.count) { out, initialized in
            if let base = out.baseAddress { vlm_half_to_float(source, base, source.count) }
            initialized = source.count
        }
    }
}
