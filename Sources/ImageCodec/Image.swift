/// An 8-bit image with interleaved samples, row-major, top row first.
///
/// Decoders produce RGB, or RGBA when the file carries transparency; the vision pipeline works on
/// RGB (see `Image.compositedOverWhite()`).
public struct Image: Sendable, Equatable {
    public enum Layout: Int, Sendable {
        case rgb = 3
        case rgba = 4

        /// Samples per pixel.
        public var channels: Int { rawValue }
    }

    public let width: Int
    public let height: Int
    public let layout: Layout
    /// `width * height * layout.channels` samples.
    public var pixels: [UInt8]

    /// Wraps existing samples. Returns nil when the count does not match the dimensions.
    public init?(width: Int, height: Int, layout: Layout, pixels: [UInt8]) {
        guard width > 0, height > 0, pixels.count == width * height * layout.channels else { return nil }
        self.width = width
        self.height = height
        self.layout = layout
        self.pixels = pixels
    }

    /// An image whose samples are written by `fill`, which must set every one of them.
    public init(width: Int, height: Int, layout: Layout, fill: (UnsafeMutableBufferPointer<UInt8>) throws -> Void) rethrows {
        self.width = width
        self.height = height
        self.layout = layout
        self.pixels = try [UInt8](unsafeUninitializedCapacity: width * height * layout.channels) { buffer, count in
            try fill(buffer)
            count = buffer.count
        }
    }

    public var channels: Int { layout.channels }

    /// This image as RGB: transparency is composited over a white background with Pillow's
    /// `Image.alpha_composite` rounding (what transformers' `convert_rgb` does). RGB images are
    /// returned unchanged.
    public func compositedOverWhite() -> Image {
        guard layout == .rgba else { return self }
        return pixels.withUnsafeBufferPointer { source in
            Image(width: width, height: height, layout: .rgb) { out in
                for pixel in 0..<(width * height) {
                    let alpha = UInt32(source[pixel * 4 + 3])
                    for channel in 0..<3 {
                        out[pixel * 3 + channel] = Self.blendOverWhite(UInt32(source[pixel * 4 + channel]), alpha: alpha)
                    }
                }
            }
        }
    }

    /// Pillow's AlphaComposite.c with an opaque white destination: 7 extra bits of precision and
    /// a rounded division by 255.
    @inline(__always)
    static func blendOverWhite(_ value: UInt32, alpha: UInt32) -> UInt8 {
        if alpha == 0 { return 255 }
        let precisionBits: UInt32 = 7
        let sourceWeight = alpha << precisionBits                // a·255·255·2^7 / (255·255)
        let whiteWeight = (255 << precisionBits) - sourceWeight
        let sum = value * sourceWeight + 255 * whiteWeight + (0x80 << precisionBits)
        return UInt8(truncatingIfNeeded: (((sum >> 8) + sum) >> 8) >> precisionBits)
    }
}
