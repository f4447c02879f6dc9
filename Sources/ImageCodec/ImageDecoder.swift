import CImageCodecs
import Foundation

/// Why an image could not be decoded, and which one.
public struct ImageDecodingError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Reason: Equatable, Sendable {
        /// The path does not exist, is a directory, or cannot be read.
        case unreadable(String)
        /// Zero bytes.
        case empty
        /// Neither PNG nor JPEG by its first bytes; `detected` names what it looks like, if known.
        case unsupportedFormat(detected: String?)
        /// The data ends before the image does.
        case truncated(String)
        /// The codec rejected the data.
        case corrupt(String)
        /// The header announces more pixels than `DecodingOptions.maxPixels` allows.
        case tooLarge(width: Int, height: Int, limit: Int)
    }

    /// The file path, or a caller-chosen name for in-memory data.
    public let source: String
    public let reason: Reason

    public init(source: String, reason: Reason) {
        self.source = source
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unreadable(let why): return "\(source): cannot read the file (\(why))"
        case .empty: return "\(source): the file is empty"
        case .unsupportedFormat(let detected):
            let what = detected.map { "it looks like \($0), which is not supported" } ?? "it is not an image file"
            return "\(source): not a PNG or JPEG image (\(what))"
        case .truncated(let why): return "\(source): truncated image (\(why))"
        case .corrupt(let why): return "\(source): corrupt image (\(why))"
        case .tooLarge(let width, let height, let limit):
            return "\(source): image is \(width)×\(height) = \(width * height) pixels, over the limit of \(limit)"
        }
    }
}

/// Limits and behaviour of decoding.
public struct DecodingOptions: Sendable {
    /// Largest accepted width × height, checked against the header before any pixel buffer exists.
    public var maxPixels: Int
    /// Turn the image upright according to its EXIF orientation tag, as
    /// transformers' `load_image` (Pillow's `ImageOps.exif_transpose`) does.
    public var appliesOrientation: Bool

    public static let defaultMaxPixels = 50_000_000

    public init(maxPixels: Int = DecodingOptions.defaultMaxPixels, appliesOrientation: Bool = true) {
        self.maxPixels = maxPixels
        self.appliesOrientation = appliesOrientation
    }
}

/// Decodes PNG and JPEG files to upright 8-bit RGB(A), the format chosen by the file's first bytes.
///
/// PNG: every colour type and bit depth, palettes with tRNS, Adam7; 16-bit samples keep their
/// high byte. JPEG: baseline, progressive, arithmetic; grey, YCbCr, CMYK and YCCK (CMYK with
/// Adobe's inverted polarity, as Pillow assumes), decoded with libjpeg's accurate integer IDCT.
public enum ImageDecoder {
    public enum Format: String, Sendable {
        case png = "PNG"
        case jpeg = "JPEG"
    }

    /// Decodes the file at `url`.
    public static func decode(contentsOf url: URL, options: DecodingOptions = .init()) throws(ImageDecodingError) -> Image {
        try decode(read(url), source: url.path, options: options)
    }

    /// Reads a whole file, with errors that name it.
    public static func read(_ url: URL) throws(ImageDecodingError) -> [UInt8] {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImageDecodingError(source: path, reason: .unreadable("no such file"))
        }
        if isDirectory.boolValue {
            throw ImageDecodingError(source: path, reason: .unreadable("it is a directory"))
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw ImageDecodingError(source: path, reason: .unreadable("not a regular file"))
        }
        if let size = attributes?[.size] as? Int, size > maxFileSize {
            throw ImageDecodingError(source: path, reason: .unreadable("\(size) bytes is larger than any image this runtime accepts (\(maxFileSize))"))
        }
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw ImageDecodingError(source: path, reason: .unreadable(error.localizedDescription))
        }
    }

    /// Files above this size are refused before being read (a 50-megapixel PNG stays far below).
    public static let maxFileSize = 1 << 30

    /// The format of `bytes` by its signature, or nil.
    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        return nil
    }

    /// What an encoded image's header announces, checked as `decode` checks it (a known format,
    /// some pixels, no more than `options.maxPixels`) without decoding the pixels: cheap enough
    /// to run on everything a server is sent before the request waits for the model.
    public struct Header: Equatable, Sendable {
        public let format: Format
        public let width: Int
        public let height: Int
        /// Samples per pixel as the codec writes them (JPEG: 1, 3 or 4; PNG: 3 or 4).
        let channels: Int
    }

    /// Reads and checks the header of an encoded image held in memory; `source` names it in errors.
    public static func header(of bytes: [UInt8], source: String, options: DecodingOptions = .init()) throws(ImageDecodingError) -> Header {
        if bytes.isEmpty { throw ImageDecodingError(source: source, reason: .empty) }
        guard let format = format(of: bytes) else {
            throw ImageDecodingError(source: source, reason: .unsupportedFormat(detected: otherFormatName(bytes)))
        }
        let info = try Codec(format).readInfo(bytes, source: source)
        let width = Int(info.width), height = Int(info.height), channels = Int(info.channels)
        guard width > 0, height > 0 else {
            throw ImageDecodingError(source: source, reason: .corrupt("image has no pixels (\(width)×\(height))"))
        }
        guard width <= options.maxPixels / height, !(width * height).multipliedReportingOverflow(by: channels).overflow else {
            throw ImageDecodingError(source: source, reason: .tooLarge(width: width, height: height, limit: options.maxPixels))
        }
        return Header(format: format, width: width, height: height, channels: channels)
    }

    /// Decodes an encoded image held in memory; `source` names it in errors.
    public static func decode(_ bytes: [UInt8], source: String, options: DecodingOptions = .init()) throws(ImageDecodingError) -> Image {
        let header = try header(of: bytes, source: source, options: options)
        let codec = Codec(header.format)
        let samples = try [UInt8](unsafeUninitializedCapacity: header.width * header.height * header.channels) { buffer, count throws(ImageDecodingError) in
            count = 0
            try codec.decode(bytes, into: buffer, source: source)
            count = buffer.count
        }
        var image = codec.image(width: header.width, height: header.height, channels: header.channels, samples: samples)
        if options.appliesOrientation {
            let orientation = header.format == .png ? ExifReader.orientation(png: bytes) : ExifReader.orientation(jpeg: bytes)
            if let orientation { image = image.applying(orientation) }
        }
        return image
    }

    private static func otherFormatName(_ bytes: [UInt8]) -> String? {
        let signatures: [(String, [UInt8])] = [
            ("GIF", Array("GIF8".utf8)), ("BMP", Array("BM".utf8)), ("TIFF", [0x49, 0x49, 0x2A, 0x00]),
            ("TIFF", [0x4D, 0x4D, 0x00, 0x2A]), ("PDF", Array("%PDF".utf8)),
        ]
        if bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WEBP".utf8) {
            return "WebP"
        }
        if bytes.count >= 12, bytes[4..<8].elementsEqual("ftyp".utf8) { return "HEIF/AVIF or MP4" }
        return signatures.first { bytes.starts(with: $0.1) }?.0
    }
}
