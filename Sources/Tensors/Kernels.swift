import COpenBLAS
import CWeightKernels
import Foundation

/// The numeric building blocks of transformer layers, on row-major float32 buffers.
/// Matrix products (attention included) go through OpenBLAS, which spreads them over the
/// cores; the rest are plain loops over rows that the compiler vectorises.
public enum Kernels {
    /// `y = x · wᵀ (+ bias)`: x is rows × inFeatures, w is outFeatures × inFeatures
    /// (PyTorch's `nn.Linear` layout), y is rows × outFeatures.
    public static func linear(_ x: [Float], rows: Int, weight: [Float], inFeatures: Int, outFeatures: Int, bias: [Float]? = nil) -> [Float] {
        precondition(x.count == rows * inFeatures && weight.count == outFeatures * inFeatures && (bias?.count ?? outFeatures) == outFeatures)
        var y = [Float](repeating: 0, count: rows * outFeatures)
        if let bias {
            for row in 0..<rows { y.withUnsafeMutableBufferPointer { _ = memcpy($0.baseAddress! + row * outFeatures, bias, outFeatures * 4) } }
        }
        let beta: Float = bias == nil ? 0 : 1
        if rows == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), 1, weight, Int32(inFeatures),
                        x, 1, beta, &y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures), 1,
                        x, Int32(inFeatures), weight, Int32(inFeatures), beta, &y, Int32(outFeatures))
        }
        return y
    }

    /// Llama's RMSNorm over each row: `x / sqrt(mean(x²) + eps) · weight`.
    public static func rmsNorm(_ x: [Float], width: Int, weight: [Float], epsilon: Float) -> [Float] {
        var y = x
        let rows = x.count / width
        y.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows {
                let slice = out.baseAddress! + row * width
                var sum: Float = 0
                for i in 0..<width { sum += slice[i] * slice[i] }
                let scale = 1 / (sum / Float(width) + epsilon).squareRoot()
                for i in 0..<width { slice[i] = weight[i] * (slice[i] * scale) }
            }
        }
        return y
    }

    /// LayerNorm over each row: `(x - mean) / sqrt(var + eps) · weight + bias` (biased variance).
    public static func layerNorm(_ x: [Float], width: Int, weight: [Float], bias: [Float], epsilon: Float) -> [Float] {
        var y = x
        let rows = x.count / width
        y.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows {
                let slice = out.baseAddress! + row * width
                var mean: Float = 0
                for i in 0..<width { mean += slice[i] }
                mean /= Float(width)
                var variance: Float = 0
                for i in 0..<width { variance += (slice[i] - mean) * (slice[i] - mean) }
                let scale = 1 / (variance / Float(width) + epsilon).squareRoot()
                for i in 0..<width { slice[i] = (slice[i] - mean) * scale * weight[i] + bias[i] }
            }
        }
        return y
    }

    /// SiLU (x·σ(x)) of `gate`, times `up`, elementwise: Llama's MLP activation.
    public static func siluProduct(_ gate: [Float], _ up: [Float]) -> [Float] {
        precondition(gate.count == up.count)
        var out = gate
        out.withUnsafeMutableBufferPointer { if let base = $0.baseAddress { vlm_silu_product(base, up, $0.count) } }
        return out
    }

    /// GELU, exact (erf) or with the tanh approximation (`gelu_pytorch_tanh`), the latter as
    /// x·σ(2u) = x / (1 + e^(−2u)), u = √(2/π)(x + 0.044715x³), which equals 0.5x(1 + tanh u).
    public static func gelu(_ x: [Float], approximateTanh: Bool) -> [Float] {
        var out = x
        if approximateTanh {
            out.withUnsafeMutableBufferPointer { if let base = $0.baseAddress { vlm_gelu_tanh(base, $0.count) } }
        } else {
            for i in out.indices { out[i] = 0.5 * x[i] * (1 + erf(x[i] / Float(2).squareRoot())) }
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

    /// Query rows per block in `attention`.
    static let attentionBlock = 128

    /// Scaled-dot-product attention with grouped-query heads.
    ///
    /// `queries` is count × heads × headDim; `keys` and `values` are keyCount × kvHeads × headDim
    /// (query head h reads key/value head h / (heads / kvHeads)). With `causalStart`, query row r
    /// sits at position causalStart + r and sees keys 0...causalStart + r; without, it sees all.
    /// Returns count × heads × headDim. Scores and weighted sums are BLAS calls per head, which
    /// OpenBLAS spreads over the cores itself; softmax runs in float32 as in PyTorch.
    public static func attention(queries: [Float], count: Int, heads: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                                 keyCount: Int, kvHeads: Int, headDim: Int, causalStart: Int?) -> [Float] {
        precondition(queries.count == count * heads * headDim && heads % kvHeads == 0 && keyCount >= count)
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        let (queryStride, keyStride) = (Int32(heads * headDim), Int32(kvHeads * headDim))
        var out = [Float](repeating: 0, count: count * heads * headDim)
        var scores = [Float](repeating: 0, count: min(count, attentionBlock) * keyCount)
        queries.withUnsafeBufferPointer { q in
            out.withUnsafeMutableBufferPointer { out in
                scores.withUnsafeMutableBufferPointer { scores in
                    for head in 0..<heads {
                        let query = q.baseAddress! + head * headDim
                        let key = keys + (head / group) * headDim
                        let value = values + (head / group) * headDim
                        let target = out.baseAddress! + head * headDim
                        if count == 1 {
                            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(keyCount), Int32(headDim), scale, key, keyStride,
                                        query, 1, 0, scores.baseAddress!, 1)
                            softmax(UnsafeMutableBufferPointer(start: scores.baseAddress!, count: keyCount))
                            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(keyCount), Int32(headDim), 1, value, keyStride,
                                        scores.baseAddress!, 1, 0, target, 1)
                            continue
                        }
                        // Blocks of query rows, each against only the keys its last row can see:
                        // a causal prompt does about half the work of a full square.
                        var first = 0
                        while first < count {
                            let rows = min(attentionBlock, count - first)
                            let seen = causalStart.map { min(keyCount, $0 + first + rows) } ?? keyCount
                            let block = scores.baseAddress!
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(seen), Int32(headDim), scale,
                                        query + first * Int(queryStride), queryStride, key, keyStride, 0, block, Int32(seen))
                            for row in 0..<rows {
                                let visible = causalStart.map { min(seen, $0 + first + row + 1) } ?? seen
                                let rowScores = block + row * seen
                                softmax(UnsafeMutableBufferPointer(start: rowScores, count: visible))
                                for position in visible..<seen { rowScores[position] = 0 }
                            }
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(headDim), Int32(seen), 1,
                                        block, Int32(seen), value, keyStride, 0, target + first * Int(queryStride), queryStride)
                            first += rows
                        }
                    }
                }
            }
        }
        return out
    }
}
