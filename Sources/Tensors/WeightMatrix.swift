import CWeightKernels
import Foundation

/// How a model's matrix weights are held in memory. Decoding one token reads every weight once,
/// so fewer bytes per weight is directly more tokens per second.
public enum WeightFormat: String, Sendable, CaseIterable {
    /// 4 bytes a weight: exactly what transformers computes with in float32.
    case float32 = "f32"
    /// 2 bytes: the upper half of each float32, rounded to nearest even. Lossless for checkpoints
    /// saved in bfloat16 (SmolVLM's are), so those compute with the very same weights.
    case bfloat16 = "bf16"
    /// 1.125 bytes: 8-bit integers with one float scale per 32 weights of a row (llama.cpp's
    /// Q8_0 scheme). Approximate; decoding also rounds each activation vector to 8 bits the same
    /// way and multiplies in integers, as llama.cpp does.
    case int8 = "q8"
}

/// A linear layer's weight, outFeatures × inFeatures in PyTorch's layout, in one of the
/// `WeightFormat`s.
public struct WeightMatrix: Sendable {
    enum Storage: Sendable {
        case float32([Float])
        case bfloat16([UInt16])
        case int8(values: [Int8], scales: [Float])
    }

    public let rows: Int
    public let columns: Int
    let storage: Storage

    /// Converts row-major float32 `values`. A matrix whose rows are not a whole number of
    /// 32-weight blocks cannot take the 8-bit format and keeps 16 bits instead.
    public init(_ values: [Float], rows: Int, columns: Int, format: WeightFormat) {
        precondition(values.count == rows * columns, "a \(rows)×\(columns) matrix needs \(rows * columns) values")
        self.init(rows: rows, columns: columns, format: format) { range in Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)]) }
    }

    /// Converts the matrix a few rows at a time: `rowsOf(range)` gives those rows as row-major
    /// float32. Only the stored format is ever whole in memory, with one slice of float32 beside
    /// it (about 4 MB), not the whole float32 matrix (113 MB for SmolVLM's embeddings).
    public init<E: Error>(rows: Int, columns: Int, format: WeightFormat, rowsOf: (Range<Int>) throws(E) -> [Float]) throws(E) {
        self.rows = rows
        self.columns = columns
        let sliceRows = max(1, (1 << 20) / max(columns, 1))
        func slices(_ body: (Range<Int>, [Float]) -> Void) throws(E) {
            for first in stride(from: 0, to: rows, by: sliceRows) {
                let range = first..<min(first + sliceRows, rows)
                let values = try rowsOf(range)
                precondition(values.count == range.count * columns, "rows \(range) need \(range.count * columns) values")
                body(range, values)
            }
        }
        switch format {
        case .float32:
            var all = [Float]()
            all.reserveCapacity(rows * columns)
            try slices { _, values in all += values }
            storage = .float32(all)
        case .int8 where columns % Int(VLM_Q8_BLOCK) == 0:
            var quantized = [Int8](repeating: 0, count: rows * columns)
            var scales = [Float](repeating: 0, count: rows * columns / Int(VLM_Q8_BLOCK))
            try slices { range, values in
                values.withUnsafeBufferPointer { source in
                    quantized.withUnsafeMutableBufferPointer { quantized in
                        scales.withUnsafeMutableBufferPointer { scales in
                            for (index, row) in range.enumerated() {
                                vlm_quantize_q8_row(source.baseAddress! + index * columns, quantized.baseAddress! + row * columns,
                                                    scales.baseAddress! + row * columns / Int(VLM_Q8_BLOCK), columns)
                            }
                        }
                    }
                }
            }
            storage = .int8(values: quantized, scales: scales)
        case .bfloat16, .int8:
            var halves = [UInt16]()
            halves.reserveCapacity(rows * columns)
            try slices { _, values in halves += values.lazy.map(Self.bfloat16) }
            storage = .bfloat16(halves)
        }
    }

    public var format: WeightFormat {
        switch storage {
        case .float32: .float32
        case .bfloat16: .bfloat16
        case .int8: .int8
        }
    }

    /// Memory the weights take.
    public var byteCount: Int {
        switch storage {
        case .float32(let values): values.count * 4
        case .bfloat16(let values): values.count * 2
        case .int8(let values, let scales): values.count + scales.count * 4
        }
    }

    /// Rows `range` as float32 (what the stored values stand for), row-major.
    public func dequantized(rows range: Range<Int>) -> [Float] {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows)
        switch storage {
        case .float32(let values):
            return Array(values[(range.lowerBound * columns)..<(range.upperBound * columns)])
        case .bfloat16(let values):
            return [Float](unsafeUninitializedCapacity: range.count * columns) { buffer, count in
                vlm_dequantize_bf16(values, buffer.baseAddress!, range.lowerBound, range.upperBound, columns)
                count = range.count * columns
            }
        case .int8(let values, let scales):
            return [Float](unsafeUninitializedCapacity: range.count * columns) { buffer, count in
                vlm_dequantize_q8(values, scales, buffer.baseAddress!, range.lowerBound, range.upperBound, columns)
                count = range.count * columns
            }
        }
    }

    /// float32 → bfloat16 with round-to-nearest-even, as `torch.Tensor.to(torch.bfloat16)` does
    /// (NaN kept a NaN).
    static func bfloat16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}

extension Kernels {
    /// `y = x · wᵀ (+ bias)` for any weight format, on the thread team. One row (decoding)
    /// streams 16/8-bit weights through a vectorised dot product (for 8-bit weights, with x
    /// rounded to 8 bits per block of 32); several rows (prefill) turn slabs of them (up to
    /// 16 MB) back into float32 and multiply those with OpenBLAS.
    public static func linear(_ x: [Float], rows: Int, weight: WeightMatrix, bias: [Float]? = nil) -> [Float] {
        let (inFeatures, outFeatures) = (weight.columns, weight.rows)
        if case .float32(let values) = weight.storage {
            return linear(x, rows: rows, weight: values, inFeatures: inFeatures, outFeatures: outFeatures, bias: bias)
        }
        precondition(x.count == rows * inFeatures && (bias?.count ?? outFeatures) == outFeatures)
        // Written by the kernels before it is read: no need to clear it.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vlm_linear_scratch_floats(rows, inFeatures, outFeatures))
        defer { scratch.deallocate() }
        return [Float](unsafeUninitializedCapacity: rows * outFeatures) { y, initialized in
            switch weight.storage {
            case .bfloat16(let values):
                vlm_linear_bf16(x, rows, values, inFeatures, outFeatures, bias, scratch, y.baseAddress)
            case .int8(let values, let scales):
                vlm_linear_q8(x, rows, values, scales, inFeatures, outFeatures, bias, scratch, y.baseAddress)
            case .float32:
                preconditionFailure("handled above")
            }
            initialized = rows * outFeatures
        }
    }
}
