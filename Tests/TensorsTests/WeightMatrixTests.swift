import CWeightKernels
@testable import Tensors
import Testing

/// 16- and 8-bit weights: the stored values are what they claim, and the kernels compute with them.
@Suite struct WeightMatrixTests {
    /// Deterministic values spread over several magnitudes, some exactly zero.
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { index in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Float(state >> 40) / Float(1 << 24) - 0.5
            return index % 97 == 0 ? 0 : unit * (index % 3 == 0 ? 4 : 0.25)
        }
    }

    /// x · wᵀ in double precision from the matrix's own float32 reading of its weights.
    func reference(_ x: [Float], rows: Int, _ weight: WeightMatrix) -> [Float] {
        let w = weight.dequantized(rows: 0..<weight.rows)
        return (0..<rows).flatMap { r in
            (0..<weight.rows).map { o in
                Float((0..<weight.columns).reduce(0.0) { $0 + Double(x[r * weight.columns + $1]) * Double(w[o * weight.columns + $1]) })
            }
        }
    }

    /// Shapes and row counts that take each way of splitting a product over the threads: one row
    /// (matrix-vector), a few rows (split by output features), many rows (split by rows; for
    /// 16/8-bit weights, blocks of 256 output features with a partial last one).
    @Test(arguments: [(70, 96), (33, 40), (512, 576), (300, 64)], WeightFormat.allCases)
    func linearComputesWithTheStoredWeights(shape: (Int, Int), format: WeightFormat) {
        let (outFeatures, inFeatures) = shape
        let weight = WeightMatrix(values(outFeatures * inFeatures, seed: 1), rows: outFeatures, columns: inFeatures, format: format)
        // 8 bits need whole 32-weight blocks; otherwise the matrix keeps 16 bits.
        #expect(weight.format == (format == .int8 && inFeatures % 32 != 0 ? .bfloat16 : format))
        let bias = values(outFeatures, seed: 3)
        #expect(Kernels.linear([], rows: 0, weight: weight, bias: bias).isEmpty)
        for rows in [1, 3, 70] {
            let x = values(rows * inFeatures, seed: 2)
            let y = Kernels.linear(x, rows: rows, weight: weight, bias: bias)
            // With 8-bit weights one row is itself rounded to 8 bits, as the weights are.
            let rounded = weight.format == .int8 && rows == 1
                ? WeightMatrix(x, rows: 1, columns: inFeatures, format: .int8).dequantized(rows: 0..<1) : x
            let expected = reference(rounded, rows: rows, weight)
            for index in y.indices {
                let want = expected[index] + bias[index % outFeatures]
                #expect(abs(y[index] - want) <= 1e-4 * max(1, abs(want)), "\(format) \(rows) rows, output \(index)")
            }
        }
    }

    /// The 8-bit matrix-vector product at full scale, every product ±127 · 127 with both signs on
    /// either side (each pair's sum, 32 258, is the most the kernel's 16-bit step ever holds):
    /// the result is Σ w·x to float precision.
    @Test func eightBitProductsAtFullScale() {
        let columns = 576
        let w = (0..<(3 * columns)).map { Float($0 % 3 == 0 ? -2 : 2) * Float($0 % 7 == 0 ? -1 : 1) }
        let x = (0..<columns).map { Float($0 % 5 < 2 ? -0.5 : 0.5) }
        let weight = WeightMatrix(w, rows: 3, columns: columns, format: .int8)
        let y = Kernels.linear(x, rows: 1, weight: weight)
        for row in 0..<3 {
            let want = (0..<columns).reduce(Float(0)) { $0 + w[row * columns + $1] * x[$1] }
            #expect(abs(y[row] - want) <= 1e-5 * Float(columns), "row \(row): \(y[row]) against \(want)")
        }
    }

    /// Blocks of 32 that take every branch of the quantizer: ties, zeros of both signs, subnormals,
    /// the largest floats, a block too small for its scale's reciprocal, NaN and infinities.
    func awkwardBlocks() -> [[Float]] {
        var blocks: [[Float]] = [
            [Float](repeating: 0, count: 32), [Float](repeating: -0.0, count: 32), [Float](repeating: 1e-38, count: 32),
            (0..<32).map { Float($0) - 15.5 }, (0..<32).map { $0 == 0 ? 127 : Float($0) + 0.5 },
            (0..<32).map { $0 % 2 == 0 ? .leastNonzeroMagnitude : 1e-30 }, (0..<32).map { $0 == 3 ? .greatestFiniteMagnitude : 1 },
            (0..<32).map { $0 == 7 ? .nan : 1 }, (0..<32).map { $0 == 0 ? -.infinity : 2 },
        ]
        var state: UInt64 = 11
        for exponent in stride(from: -40, through: 40, by: 4) {
            blocks.append((0..<32).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let unit = Float(state >> 40) / Float(1 << 24) - 0.5
                return Float(sign: .plus, exponent: exponent, significand: unit)
            })
        }
        return blocks
    }

    /// The AVX2 quantizer (where this CPU has it) writes exactly what the portable one does, and the
    /// integer products equal the portable ones up to summation order.
    @Test func eightBitPathsAgree() {
        let blocks = awkwardBlocks()
        let row = blocks.flatMap { $0 }
        var (stored, scales) = ([Int8](repeating: 0, count: row.count), [Float](repeating: 0, count: blocks.count))
        var (portableStored, portableScales) = (stored, scales)
        vlm_quantize_q8_row(row, &stored, &scales, row.count)
        vlm_quantize_q8_row_portable(row, &portableStored, &portableScales, row.count)
        #expect(stored == portableStored)
        #expect(zip(scales, portableScales).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
        #expect(!stored.contains(-128) && scales[7].isNaN && scales[8].isNaN && stored[(7 * 32)..<(9 * 32)].allSatisfy { $0 == 0 })

        // Products: the finite blocks as a 3 × 96 matrix against an x quantized the same way.
        let columns = 96, finite = Array(row[(9 * 32)...])
        let w = WeightMatrix(Array(finite[0..<(3 * columns)]), rows: 3, columns: columns, format: .int8)
        guard case .int8(let wValues, let wScales) = w.storage else { Issue.record("not 8-bit"); return }
        let x = values(columns, seed: 9)
        var (xValues, xScales) = ([Int8](repeating: 0, count: columns), [Float](repeating: 0, count: columns / 32))
        vlm_quantize_q8_row(x, &xValues, &xScales, columns)
        var (y, portableY) = ([Float](repeating: 0, count: 3), [Float](repeating: 0, count: 3))
        vlm_gemv_q8(wValues, wScales, xValues, xScales, &y, 0, 3, columns)
        vlm_gemv_q8_portable(wValues, wScales, xValues, xScales, &portableY, 0, 3, columns)
        for (fast, portable) in zip(y, portableY) { #expect(abs(fast - portable) <= 1e-5 * max(1, abs(portable)), "\(fast) against \(portable)") }
    }

    /// A NaN in the activations comes out as NaN, as with float32 weights, not as a plausible number.
    @Test func eightBitProductsKeepNaN() {
        let weight = WeightMatrix(values(4 * 64, seed: 4), rows: 4, columns: 64, format: .int8)
        var x = values(64, seed: 5)
        x[40] = .nan
        let y = Kernels.linear(x, rows: 1, weight: weight)
        #expect(y.allSatisfy { $0.isNaN })
    }

    /// Rounding to 8 bits is roundf's: halves away from zero, and a value just below a half down.
    /// With a block maximum of 127 the scale is exactly 1, so the stored values are the rounded ones.
    @Test func eightBitRoundingIsHalfAwayFromZero() {
        let cases: [(Float, Float)] = [(127, 127), (2.5, 3), (-2.5, -3), (0.5, 1), (-0.5, -1), (0.49999997, 0), (1.5, 2),
                                       (126.5, 127), (-126.49999, -126), (3.4999998, 3), (-0.3, 0), (0, 0)]
        let block = cases.map(\.0) + [Float](repeating: 0, count: 32 - cases.count)
        // Two blocks, the second the first negated, across a row of each width the kernels step by.
        let row = block + block.map { -$0 }
        let stored = WeightMatrix(row, rows: 1, columns: 64, format: .int8).dequantized(rows: 0..<1)
        for (index, (value, rounded)) in cases.enumerated() {
            #expect(stored[index] == rounded, "\(value)")
            #expect(stored[32 + index] == -rounded, "\(-value)")
        }
    }

    @Test func bfloat16RoundsToNearestEven() {
        #expect(WeightMatrix.bfloat16(1) == 0x3F80)
        #expect(WeightMatrix.bfloat16(-2) == 0xC000)
        // 1 + 2⁻⁸ is halfway between two bfloat16 values: ties go to the even one (1.0)…
        #expect(WeightMatrix.bfloat16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        // …and 1 + 3·2⁻⁸ rounds up to the even 1 + 2⁻⁶.
        #expect(WeightMatrix.bfloat16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(WeightMatrix.bfloat16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(WeightMatrix.bfloat16(.infinity) == 0x7F80)
        #expect(Float(bitPattern: UInt32(WeightMatrix.bfloat16(.nan)) << 16).isNaN)
        // Values that are already bfloat16 (a bfloat16 checkpoint) are kept exactly.
        let exact = values(4096, seed: 5).map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
        #expect(WeightMatrix(exact, rows: 64, columns: 64, format: .bfloat16).dequantized(rows: 0..<64) == exact)
    }

    @Test func eightBitErrorIsHalfAStepPerBlock() {
        let original = values(64 * 96, seed: 7)
        let weight = WeightMatrix(original, rows: 64, columns: 96, format: .int8)
        let restored = weight.dequantized(rows: 0..<64)
        for block in 0..<(original.count / 32) {
            let range = (block * 32)..<((block + 1) * 32)
            let step = original[range].map(abs).max()! / 127
            for index in range { #expect(abs(restored[index] - original[index]) <= step / 2 * 1.0001 + 1e-12) }
        }
        #expect(weight.byteCount == 64 * 96 + 64 * 3 * 4)
    }
}
