/// exp, tanh and friends on 8 floats at a time. The C library's scalar expf/tanhf made up a
/// large share of attention softmax and activations; these are Cephes' single-precision
/// polynomials (about 1 ulp), vectorised.
enum VectorMath {
    typealias Vector = SIMD8<Float>

    /// e^x, with x clamped to [−87.3, 88.3], where 2ⁿ and the result are finite, normal floats.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        let x = pointwiseMax(pointwiseMin(x, Vector(repeating: 88.3)), Vector(repeating: -87.3))
        // x = n·ln2 + r with |r| ≤ ln2/2; ln2 split in two for an exact reduction. Adding
        // 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
        let shifter = Vector(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + shifter
        let n = shifted - shifter
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_1e-1
        p = p * r * r + r + 1
        // 2ⁿ: n + 127 into the exponent field (n sits in the low bits of `shifted`).
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return p * unsafeBitCast((integer &+ 127) &<< 23, to: Vector.self)
    }

    /// Applies `vector` to `buffer` in blocks of 8, the remainder padded into one more block.
    @inline(__always)
    static func map(_ buffer: UnsafeMutableBufferPointer<Float>, _ vector: (Vector) -> Vector) {
        let count = buffer.count
        let base = UnsafeMutableRawPointer(buffer.baseAddress!)
        var i = 0
        while i + 8 <= count {
            let value = base.loadUnaligned(fromByteOffset: i * 4, as: Vector.self)
            base.storeBytes(of: vector(value), toByteOffset: i * 4, as: Vector.self)
            i += 8
        }
        if i < count {
            var tail = Vector(repeating: 0)
            for j in 0..<(count - i) { tail[j] = buffer[i + j] }
            let result = vector(tail)
            for j in 0..<(count - i) { buffer[i + j] = result[j] }
        }
    }
}
