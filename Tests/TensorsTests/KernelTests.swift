import CWeightKernels
import Foundation
import Tensors
import Testing

@Suite struct KernelTests {
    /// Deterministic pseudo-random values in [-1, 1).
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    /// The textbook definition, one dot product at a time, in double precision.
    func reference(q: [Float], count: Int, heads: Int, k: [Float], v: [Float], keyCount: Int, kvHeads: Int, headDim: Int, causalStart: Int?) -> [Float] {
        var out = [Float](repeating: 0, count: count * heads * headDim)
        for row in 0..<count {
            for head in 0..<heads {
                let kvHead = head / (heads / kvHeads)
                let visible = causalStart.map { $0 + row + 1 } ?? keyCount
                var scores = (0..<visible).map { position -> Double in
                    (0..<headDim).reduce(0.0) { $0 + Double(q[(row * heads + head) * headDim + $1]) * Double(k[(position * kvHeads + kvHead) * headDim + $1]) }
                        / Double(headDim).squareRoot()
                }
                let maximum = scores.max()!
                scores = scores.map { Foundation.exp($0 - maximum) }
                let sum = scores.reduce(0, +)
                for d in 0..<headDim {
                    out[(row * heads + head) * headDim + d] = Float((0..<visible).reduce(0.0) { $0 + scores[$1] / sum * Double(v[($1 * kvHeads + kvHead) * headDim + d]) })
                }
            }
        }
        return out
    }

    /// Causal (over several query blocks, after a cached past), non-causal, and single-query
    /// decode (over several chunks of positions, and within one).
    @Test(arguments: [(300, 20, true), (300, 0, false), (1, 599, true), (1, 40, false), (7, 0, true)])
    func attentionMatchesDefinition(_ count: Int, _ past: Int, _ causal: Bool) {
        let (heads, kvHeads, headDim) = (4, 2, 8)
        let keyCount = past + count
        let q = values(count * heads * headDim, seed: 1)
        let k = values(keyCount * kvHeads * headDim, seed: 2)
        let v = values(keyCount * kvHeads * headDim, seed: 3)
        let ours = Kernels.attention(queries: q, count: count, heads: heads, keys: k, values: v, keyCount: keyCount,
                                     kvHeads: kvHeads, headDim: headDim, causalStart: causal ? past : nil)
        let expected = reference(q: q, count: count, heads: heads, k: k, v: v, keyCount: keyCount, kvHeads: kvHeads,
                                 headDim: headDim, causalStart: causal ? past : nil)
        #expect(zip(ours, expected).map { abs($0 - $1) }.max()! < 1e-5)
    }

    /// Half precision: exact values, ties to even, subnormals, overflow, and back.
    @Test func halfPrecisionConversions() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3c00), (-2, 0xc000), (0, 0), (-0.0, 0x8000), (65504, 0x7bff), (65520, 0x7c00), (1e6, 0x7c00),
            (-.infinity, 0xfc00), (1 + 0x1p-11, 0x3c00), (1 + 3 * 0x1p-11, 0x3c02), (1 + 0x1p-11 + 0x1p-20, 0x3c01),
            (0x1p-24, 0x0001), (0x1p-25, 0), (0x1.8p-25, 0x0001), (0x1p-14, 0x0400), (0x1.ff8p-15, 0x03ff), (0x1.ffcp-15, 0x0400),
            (0.1, 0x2e66),
        ]
        var half = [UInt16](repeating: 0, count: cases.count)
        cases.map(\.0).withUnsafeBufferPointer { Kernels.toHalf($0, into: &half) }
        #expect(half == cases.map(\.1))
        let back = Kernels.fromHalf(half)
        #expect(back[0] == 1 && back[4] == 65504 && back[11] == 0x1p-24 && back[17] == 0.0999755859375)
        var nan = [UInt16](repeating: 0, count: 1)
        [Float.nan].withUnsafeBufferPointer { Kernels.toHalf($0, into: &nan) }
        #expect(Kernels.fromHalf(nan)[0].isNaN)
    }

    /// The CPU's conversions (F16C here) and the portable code agree bit for bit: every half
    /// widened, and every finite half's neighbourhood narrowed — the value itself, the midpoints
    /// to its neighbours (ties) and a float step either side of them.
    @Test func halfConversionPathsAgree() {
        let halves = (0...UInt16.max).map { $0 }
        var fast = [Float](repeating: 0, count: halves.count), portable = fast
        vlm_half_to_float(halves, &fast, halves.count)
        vlm_half_to_float_portable(halves, &portable, halves.count)
        #expect(zip(fast, portable).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
        var floats: [Float] = []
        for (value, next) in zip(portable, portable.dropFirst()) where value.isFinite && next.isFinite && value.sign == next.sign {
            let midpoint = (value + next) / 2  // exact: halves have 11 significant bits, floats 24
            floats += [value, midpoint.nextDown, midpoint, midpoint.nextUp]
        }
        var fastHalves = [UInt16](repeating: 0, count: floats.count), portableHalves = fastHalves
        vlm_float_to_half(floats, &fastHalves, floats.count)
        vlm_float_to_half_portable(floats, &portableHalves, floats.count)
        #expect(fastHalves == portableHalves)
        #expect(floats.count > 4 * 60_000)
    }

    /// Attention over half-precision keys and values equals float32 attention over the same
    /// values widened: laid out head-major with room to spare as the KV cache holds them, and
    /// position-major; a decoded token over several chunks (with keys past the causal limit),
    /// and causal blocks of queries after a past (one block, and two).
    @Test(arguments: [(1, 599, true), (1, 599, false), (9, 40, true), (130, 10, false)])
    func halfAttentionMatchesWidenedFloat(_ count: Int, _ past: Int, _ headMajor: Bool) {
        let (heads, kvHeads, headDim, allocated) = (6, 2, 16, past + count + 5)
        // The single query sits at `past`, one position before the last key: the cap must drop it.
        let (keyCount, causalStart) = count == 1 ? (past + 2, past) : (past + count, past)
        let q = values(count * heads * headDim, seed: 7)
        var k = [UInt16](repeating: 0, count: kvHeads * allocated * headDim), v = k
        values(k.count, seed: 8).withUnsafeBufferPointer { Kernels.toHalf($0, into: &k) }
        values(v.count, seed: 9).withUnsafeBufferPointer { Kernels.toHalf($0, into: &v) }
        let strides = headMajor ? Kernels.KeyValueStrides(position: headDim, head: allocated * headDim)
                                : Kernels.KeyValueStrides(position: kvHeads * headDim, head: headDim)
        let half = k.withUnsafeBufferPointer { k in
            v.withUnsafeBufferPointer { v in
                Kernels.attention(queries: q, count: count, heads: heads, halfKeys: k.baseAddress!, halfValues: v.baseAddress!,
                                  keyCount: keyCount, kvHeads: kvHeads, headDim: headDim, strides: strides, causalStart: causalStart)
            }
        }
        let (wideKeys, wideValues) = (Kernels.fromHalf(k), Kernels.fromHalf(v))
        let wide = Kernels.attention(queries: q, count: count, heads: heads, keys: wideKeys, values: wideValues, keyCount: keyCount,
                                     kvHeads: kvHeads, headDim: headDim, strides: strides, causalStart: causalStart)
        #expect(zip(half, wide).map { abs($0 - $1) }.max()! < 1e-6)
        if !headMajor {  // the textbook definition reads this layout
            let expected = reference(q: q, count: count, heads: heads, k: wideKeys, v: wideValues, keyCount: keyCount, kvHeads: kvHeads,
                                     headDim: headDim, causalStart: causalStart)
            #expect(zip(half, expected).map { abs($0 - $1) }.max()! < 1e-5)
        }
    }

    @Test func normsAndActivations() {
        let x: [Float] = [1, -2, 3, 0.5]
        let rms = Kernels.rmsNorm(x, width: 4, weight: [1, 2, 1, 1], epsilon: 1e-5)
        let scale = 1 / ((1 + 4 + 9 + 0.25) / 4 + 1e-5 as Float).squareRoot()
        #expect(zip(rms, [1 * scale, -4 * scale, 3 * scale, 0.5 * scale]).allSatisfy { abs($0 - $1) < 1e-6 })
        let layer = Kernels.layerNorm([1, 2, 3, 4], width: 4, weight: [1, 1, 1, 1], bias: [0, 0, 0, 1], epsilon: 0)
        #expect(abs(layer[0] + 1.3416408) < 1e-5 && abs(layer[3] - 2.3416408) < 1e-5)
        #expect(abs(Kernels.gelu([1], approximateTanh: false)[0] - 0.8413447) < 1e-6)
        #expect(abs(Kernels.gelu([1], approximateTanh: true)[0] - 0.8411920) < 1e-6)
        #expect(abs(Kernels.siluProduct([2], [3])[0] - 2 / (1 + exp(-2)) * 3) < 1e-6)
        let logs = Kernels.logSoftmax([1, 2, 3])
        #expect(abs(logs.map(exp).reduce(0, +) - 1) < 1e-6)
    }

    @Test func linearMatchesDefinition() {
        let x = values(3 * 5, seed: 4), w = values(4 * 5, seed: 5), b = values(4, seed: 6)
        for rows in [1, 3] {
            let y = Kernels.linear(Array(x.prefix(rows * 5)), rows: rows, weight: w, inFeatures: 5, outFeatures: 4, bias: b)
            for r in 0..<rows {
                for o in 0..<4 {
                    let expected = (0..<5).reduce(b[o]) { $0 + x[r * 5 + $1] * w[o * 5 + $1] }
                    #expect(abs(y[r * 4 + o] - expected) < 1e-5)
                }
            }
        }
    }
}
