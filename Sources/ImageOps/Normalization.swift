import ImageCodec
import Tensors

/// Turns 8-bit RGB frames into the float32 channels-first values a vision encoder reads, with
/// transformers' arithmetic: rescale in double precision then round to float32
/// (`image.astype(float64) * scale` → float32), normalise in float32 (`(x - mean) / std`).
public struct PixelNormalization: Sendable, Equatable {
    /// Multiplier applied to the 0...255 samples, or nil to skip rescaling.
    public var rescaleFactor: Double?
    /// Per-channel mean and standard deviation, or nil to skip normalising.
    public var mean: [Float]?
    public var std: [Float]?

    public init(rescaleFactor: Double?, mean: [Float]?, std: [Float]?) {
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.std = std
    }

    /// The float value of each 8-bit level in each channel: 3 tables of 256.
    func lookupTables() -> [[Float]] {
        (0..<3).map { channel in
            (0..<256).map { level in
                var value = rescaleFactor.map { Float(Double(level) * $0) } ?? Float(level)
                if let mean, let std { value = (value - mean[channel]) / std[channel] }
                return value
            }
        }
    }

    /// Writes `image` (RGB, `height` × `width` at most the frame's size) into `frame`, a
    /// 3 × `frameHeight` × `frameWidth` channels-first slice; pixels outside the image stay as they are.
    func write(_ image: Image, into frame: UnsafeMutableBufferPointer<Float>, frameHeight: Int, frameWidth: Int, tables: [[Float]]) {
        precondition(image.layout == .rgb && image.height <= frameHeight && image.width <= frameWidth)
        image.pixels.withUnsafeBufferPointer { pixels in
            for channel in 0..<3 {
                let table = tables[channel]
                for y in 0..<image.height {
                    let outRow = frame.baseAddress! + (channel * frameHeight + y) * frameWidth
                    let inRow = pixels.baseAddress! + y * image.width * 3 + channel
                    for x in 0..<image.width { outRow[x] = table[Int(inRow[x * 3])] }
                }
            }
        }
    }

    /// Stacks frames into one N × 3 × H × W tensor, H and W the largest frame height and width;
    /// smaller frames are padded with zeros at the bottom and right (transformers' `do_pad`).
    public func pixelValues(_ frames: [Image]) -> Tensor {
        let height = frames.map(\.height).max() ?? 0
        let width = frames.map(\.width).max() ?? 0
        var tensor = Tensor(zeros: [frames.count, 3, height, width])
        let tables = lookupTables()
        let frameSize = 3 * height * width
        tensor.scalars.withUnsafeMutableBufferPointer { all in
            for (index, frame) in frames.enumerated() {
                let slice = UnsafeMutableBufferPointer(rebasing: all[(index * frameSize)..<((index + 1) * frameSize)])
                write(frame, into: slice, frameHeight: height, frameWidth: width, tables: tables)
            }
        }
        return tensor
    }
}
