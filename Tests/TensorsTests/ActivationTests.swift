import Foundation
import Testing
import Tensors

/// Softmax, GELU (tanh) and SiLU on the C kernels' vectorised exp, against double precision, at
/// lengths that exercise the 8-wide blocks and their remainders.
@Suite struct ActivationTests {
    let lengths = [1, 7, 8, 9, 31, 1024, 1027]

    func values(_ count: Int, spread: Double) -> [Float] {
        (0..<count).map { Float(sin(Double($0) * 12.9898) * spread) }
    }

    @Test func softmaxMatchesDoublePrecision() {
        for count in lengths {
            let row = values(count, spread: 30)
            var result = row
            result.withUnsafeMutableBufferPointer { Kernels.softmax($0) }
            let maximum = Double(row.max()!)
            let exps = row.map { Foundation.exp(Double($0) - maximum) }
            let total = exps.reduce(0, +)
            let worst = zip(result, exps).map { abs(Double($0) - $1 / total) / max($1 / total, 1e-30) }.max()!
            // exp is within ~1 ulp; the float sum over up to 1027 terms adds a few more
            #expect(worst < 5e-6, "length \(count): relative error \(worst)")
        }
        // Far-apart scores saturate instead of overflowing (exp's argument is clamped at -87.3).
        var extremes: [Float] = [1000, -1000, 0]
        extremes.withUnsafeMutableBufferPointer { Kernels.softmax($0) }
        #expect(extremes[0] == 1 && extremes[1] < 1e-37 && extremes[2] < 1e-37)
    }

    @Test func geluAndSiluMatchDoublePrecision() {
        for count in lengths {
            let x = values(count, spread: 12)
            let gelu = Kernels.gelu(x, approximateTanh: true)
            let silu = Kernels.siluProduct(x, x.map { $0 * 0.5 })
            for (i, v) in x.enumerated() {
                let d = Double(v)
                let exactGelu = 0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
                let exactSilu = d / (1 + Foundation.exp(-d)) * d * 0.5
                #expect(abs(Double(gelu[i]) - exactGelu) <= 2e-6 * max(1, abs(exactGelu)), "gelu(\(v))")
                #expect(abs(Double(silu[i]) - exactSilu) <= 2e-6 * max(1, abs(exactSilu)), "silu(\(v))")
            }
        }
        #expect(Kernels.gelu([], approximateTanh: true).isEmpty && Kernels.siluProduct([], []).isEmpty)
    }
}
