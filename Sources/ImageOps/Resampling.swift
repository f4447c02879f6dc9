import Dispatch
import Foundation
import ImageCodec

/// The convolution filters of Pillow's `Image.resize`, with their PIL enum values
/// (the `resample` integers found in `preprocessor_config.json`).
public enum ResamplingFilter: Int, Sendable, CaseIterable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    /// Half-width of the kernel at scale 1, in source pixels.
    var support: Double {
        switch self {
        case .box: return 0.5
        case .bilinear, .hamming: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    /// The kernel, exactly as Pillow's Resample.c evaluates it (in double precision).
    func weight(_ x: Double) -> Double {
        switch self {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let x = abs(x)
            return x < 1 ? 1 - x : 0
        case .hamming:
            let x = abs(x)
            if x == 0 { return 1 }
            if x >= 1 { return 0 }
            let px = x * Double.pi
            return sin(px) / px * (0.54 + 0.46 * cos(px))
        case .bicubic:
            let a = -0.5
            let x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            return -3 <= x && x < 3 ? Self.sinc(x) * Self.sinc(x / 3) : 0
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = x * Double.pi
        return sin(px) / px
    }
}

/// Fixed-point filter taps for one axis: for each output index, the first source index, the
/// number of taps, and `ksize` weights scaled by 2^22 (Pillow's `precompute_coeffs` followed by
/// `normalize_coeffs_8bpc`).
struct ResamplingCoefficients {
    static let precisionBits: Int32 = 32 - 8 - 2

    let ksize: Int
    let first: [Int]
    let count: [Int]
    let weights: [Int32]

    init(inputSize: Int, outputSize: Int, filter: ResamplingFilter) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outputSize)
        var count = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * ksize)
        var taps = [Double](repeating: 0, count: ksize)
        let inverseFilterScale = 1 / filterScale
        let one = Double(1 << Self.precisionBits)
        for out in 0..<outputSize {
            let center = (Double(out) + 0.5) * scale
            // C's (int) cast truncates toward zero; so does Int(_:) on a Double.
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inputSize)
            let n = high - low
            var total = 0.0
            for k in 0..<n {
                let w = filter.weight((Double(k + low) - center + 0.5) * inverseFilterScale)
                taps[k] = w
                total += w
            }
            for k in 0..<n {
                let w = total != 0 ? taps[k] / total : taps[k]
                weights[out * ksize + k] = Int32(w < 0 ? -0.5 + w * one : 0.5 + w * one)
            }
            first[out] = low
            count[out] = n
        }
        self.ksize = ksize
        self.first = first
        self.count = count
        self.weights = weights
    }

    /// Pillow's `clip8`: drop the fraction bits (flooring) and clamp to 0...255.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> precisionBits)
    }
}

extension Image {
    /// This image resized to `width` × `height` with Pillow's separable convolution, bit for bit:
    /// the same double-precision taps, the same 22-bit fixed-point rounding, and Pillow 13's
    /// pass order: horizontal first (over just the rows the vertical pass reads), unless the
    /// height shrinks by more than twice as many pixels as the width, then vertical first.
    ///
    /// Channels are filtered independently. Pillow premultiplies alpha before resizing RGBA;
    /// the vision pipeline composites onto white first and so only ever resizes RGB.
    public func resized(width outWidth: Int, height outHeight: Int, filter: ResamplingFilter) -> Image {
        precondition(outWidth > 0 && outHeight > 0, "resize to an empty size")
        if outWidth == width && outHeight == height { return self }
        let horizontal = ResamplingCoefficients(inputSize: width, outputSize: outWidth, filter: filter)
        let vertical = ResamplingCoefficients(inputSize: height, outputSize: outHeight, filter: filter)
        let verticalFirst = height - outHeight > 0 && height - outHeight > 2 * (width - outWidth)

        if verticalFirst {
            let shorter = resampleColumns(self, rowOffset: 0, toHeight: outHeight, using: vertical)
            return outWidth == width ? shorter : resampleRows(shorter, rows: 0..<outHeight, toWidth: outWidth, using: horizontal)
        }
        guard outWidth != width else {
            return resampleColumns(self, rowOffset: 0, toHeight: outHeight, using: vertical)
        }
        // Only the source rows the vertical pass will read (all rows when height is unchanged).
        let firstRow = outHeight != height ? vertical.first[0] : 0
        let lastRow = outHeight != height ? vertical.first[outHeight - 1] + vertical.count[outHeight - 1] : height
        let narrower = resampleRows(self, rows: firstRow..<lastRow, toWidth: outWidth, using: horizontal)
        return outHeight == height ? narrower : resampleColumns(narrower, rowOffset: firstRow, toHeight: outHeight, using: vertical)
    }
}

/// Rows are independent in both passes; split them across the cores in a few large chunks.
private func forEachChunk(of rows: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(rows, max(1, ProcessInfo.processInfo.activeProcessorCount) * 4)
    if chunks <= 1 || rows < 64 {
        body(0..<rows)
        return
    }
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            work.value((rows * chunk / chunks)..<(rows * (chunk + 1) / chunks))
        }
    }
}

private func resampleRows(_ image: Image, rows: Range<Int>, toWidth outWidth: Int, using c: ResamplingCoefficients) -> Image {
    let channels = image.channels
    let inStride = image.width * channels
    let outStride = outWidth * channels
    let half = Int32(1) << (ResamplingCoefficients.precisionBits - 1)
    return image.pixels.withUnsafeBufferPointer { input in
        c.weights.withUnsafeBufferPointer { weights in
            Image(width: outWidth, height: rows.count, layout: image.layout) { out in
                let output = UncheckedSendable(out)
                forEachChunk(of: rows.count) { chunk in
                    for row in chunk {
                        let inRow = input.baseAddress! + (rows.lowerBound + row) * inStride
                        let outRow = output.value.baseAddress! + row * outStride
                        for x in 0..<outWidth {
                            let taps = weights.baseAddress! + x * c.ksize
                            let first = c.first[x], n = c.count[x]
                            for channel in 0..<channels {
                                var sum = half
                                var p = inRow + first * channels + channel
                                for k in 0..<n {
                                    sum &+= Int32(p.pointee) &* taps[k]
                                    p += channels
                                }
                                outRow[x * channels + channel] = ResamplingCoefficients.clip8(sum)
                            }
                        }
                    }
                }
            }
        }
    }
}

private func resampleColumns(_ image: Image, rowOffset: Int, toHeight outHeight: Int, using c: ResamplingCoefficients) -> Image {
    let stride = image.width * image.channels
    let half = Int32(1) << (ResamplingCoefficients.precisionBits - 1)
    return image.pixels.withUnsafeBufferPointer { input in
        c.weights.withUnsafeBufferPointer { weights in
            Image(width: image.width, height: outHeight, layout: image.layout) { out in
                let output = UncheckedSendable(out)
                forEachChunk(of: outHeight) { chunk in
                    var sums = [Int32](repeating: 0, count: stride)
                    for y in chunk {
                        let taps = weights.baseAddress! + y * c.ksize
                        let first = c.first[y] - rowOffset
                        sums.withUnsafeMutableBufferPointer { sums in
                            for i in 0..<stride { sums[i] = half }
                            for k in 0..<c.count[y] {
                                let weight = taps[k]
                                let inRow = input.baseAddress! + (first + k) * stride
                                for i in 0..<stride { sums[i] &+= Int32(inRow[i]) &* weight }
                            }
                            let outRow = output.value.baseAddress! + y * stride
                            for i in 0..<stride { outRow[i] = ResamplingCoefficients.clip8(sums[i]) }
                        }
                    }
                }
            }
        }
    }
}

/// Hands a buffer to `concurrentPerform` workers that write disjoint parts of it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
