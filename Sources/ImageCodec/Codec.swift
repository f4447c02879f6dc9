import CImageCodecs

/// The two C codecs behind one interface: header, pixels, and conversion of what they write to RGB(A).
enum Codec {
    case png
    case jpeg

    init(_ format: ImageDecoder.Format) {
        self = format == .png ? .png : .jpeg
    }

    func readInfo(_ bytes: [UInt8], source: String) throws(ImageDecodingError) -> vlm_image_info {
        var info = vlm_image_info()
        var status = vlm_codec_status()
        bytes.withUnsafeBufferPointer { data in
            switch self {
            case .png: _ = vlm_png_read_info(data.baseAddress, data.count, &info, &status)
            case .jpeg: _ = vlm_jpeg_read_info(data.baseAddress, data.count, &info, &status)
            }
        }
        try Self.check(status, source: source)
        return info
    }

    func decode(_ bytes: [UInt8], into pixels: UnsafeMutableBufferPointer<UInt8>, source: String) throws(ImageDecodingError) {
        var status = vlm_codec_status()
        bytes.withUnsafeBufferPointer { data in
            switch self {
            case .png: _ = vlm_png_decode(data.baseAddress, data.count, pixels.baseAddress, pixels.count, &status)
            case .jpeg: _ = vlm_jpeg_decode(data.baseAddress, data.count, pixels.baseAddress, pixels.count, &status)
            }
        }
        try Self.check(status, source: source)
    }

    /// Wraps the decoded samples: PNG writes RGB or RGBA; JPEG writes grey, RGB or CMYK.
    func image(width: Int, height: Int, channels: Int, samples: [UInt8]) -> Image {
        switch (self, channels) {
        case (_, 3): return Image(width: width, height: height, layout: .rgb, pixels: samples)!
        case (.png, _): return Image(width: width, height: height, layout: .rgba, pixels: samples)!
        case (.jpeg, 1):
            return samples.withUnsafeBufferPointer { grey in
                Image(width: width, height: height, layout: .rgb) { out in
                    for pixel in 0..<grey.count {
                        out[pixel * 3] = grey[pixel]
                        out[pixel * 3 + 1] = grey[pixel]
                        out[pixel * 3 + 2] = grey[pixel]
                    }
                }
            }
        case (.jpeg, _):
            return samples.withUnsafeBufferPointer { cmyk in
                Image(width: width, height: height, layout: .rgb) { out in
                    for pixel in 0..<(width * height) {
                        // Stored inverted (Adobe): 255 - sample is the ink amount, Pillow's "CMYK;I".
                        let inverseBlack = Int(cmyk[pixel * 4 + 3])
                        for channel in 0..<3 {
                            out[pixel * 3 + channel] = Self.cmykToRGB(ink: 255 - Int(cmyk[pixel * 4 + channel]), inverseBlack: inverseBlack)
                        }
                    }
                }
            }
        }
    }

    /// Pillow's `cmyk2rgb`: nk - nk·ink/255 with its rounded division by 255, nk = 255 - black.
    @inline(__always)
    static func cmykToRGB(ink: Int, inverseBlack nk: Int) -> UInt8 {
        let product = ink * nk + 128
        let divided = ((product >> 8) + product) >> 8
        return UInt8(clamping: nk - divided)
    }

    private static func check(_ status: vlm_codec_status, source: String) throws(ImageDecodingError) {
        guard status.code != Int32(VLM_CODEC_OK) else { return }
        let message = withUnsafeBytes(of: status.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch status.code {
        case Int32(VLM_CODEC_TRUNCATED): throw ImageDecodingError(source: source, reason: .truncated(message))
        default: throw ImageDecodingError(source: source, reason: .corrupt(message))
        }
    }
}
