import Foundation
import Testing
@testable import Tensors

@Suite struct VectorMathTests {
    /// The vectorised exp stays within a few ulp of the double-precision one over the range
    /// softmax and the activations use, and saturates instead of overflowing.
    @Test func expAccuracy() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let values = VectorMath.Vector((0..<8).map { x + Float($0) * 0.0137 })
            let result = VectorMath.exp(values)
            for lane in 0..<8 {
                let exact = Foundation.exp(Double(values[lane]))
                worst = max(worst, abs(Double(result[lane]) - exact) / exact)
            }
            x += 0.1
        }
        #expect(worst < 3e-7, "max relative error \(worst)")
        let extremes = VectorMath.exp(VectorMath.Vector(repeating: 1000))
        #expect(extremes[0].isFinite)
        #expect(VectorMath.exp(VectorMath.Vector(repeating: -1000))[0] >= 0)
    }
}
