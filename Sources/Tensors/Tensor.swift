/// A dense, row-major float32 tensor.
///
/// Kept deliberately plain: a shape and a contiguous buffer. Kernels that operate on it live
/// beside it in this module and call OpenBLAS where a matrix product is involved.
public struct Tensor: Sendable, Equatable {
    public let shape: [Int]
    public var scalars: [Float]

    /// Wraps `scalars`; nil when their count is not the product of `shape` or a dimension is negative.
    public init?(shape: [Int], scalars: [Float]) {
        guard let count = Tensor.elementCount(shape), count == scalars.count else { return nil }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(Tensor.elementCount(shape) != nil, "invalid shape \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: 0, count: Tensor.elementCount(shape)!)
    }

    /// The number of elements of `shape`, or nil when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}
