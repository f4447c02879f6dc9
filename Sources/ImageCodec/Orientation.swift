/// The EXIF orientation tag (0x0112): how the stored pixels must be turned to be upright.
/// Raw values 1–8 as in the TIFF/EXIF specification.
public enum Orientation: UInt16, Sendable, CaseIterable {
    case up = 1
    case upMirrored = 2
    case down = 3
    case downMirrored = 4
    case leftMirrored = 5
    case right = 6
    case rightMirrored = 7
    case left = 8

    /// Whether turning upright swaps width and height.
    var swapsAxes: Bool { rawValue >= 5 }

    /// For an upright output pixel (x, y), the stored pixel it comes from, in an image stored
    /// `width` × `height`. Same geometry as Pillow's `ImageOps.exif_transpose`.
    @inline(__always)
    func sourceCoordinate(x: Int, y: Int, width: Int, height: Int) -> (x: Int, y: Int) {
        switch self {
        case .up: return (x, y)
        case .upMirrored: return (width - 1 - x, y)
        case .down: return (width - 1 - x, height - 1 - y)
        case .downMirrored: return (x, height - 1 - y)
        case .leftMirrored: return (y, x)
        case .right: return (y, height - 1 - x)
        case .rightMirrored: return (width - 1 - y, height - 1 - x)
        case .left: return (width - 1 - y, x)
        }
    }
}

extension Image {
    /// The image turned upright according to `orientation`.
    public func applying(_ orientation: Orientation) -> Image {
        if orientation == .up { return self }
        let outWidth = orientation.swapsAxes ? height : width
        let outHeight = orientation.swapsAxes ? width : height
        let channels = self.channels
        return pixels.withUnsafeBufferPointer { source in
            Image(width: outWidth, height: outHeight, layout: layout) { out in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let from = orientation.sourceCoordinate(x: x, y: y, width: width, height: height)
                        let s = (from.y * width + from.x) * channels
                        let d = (y * outWidth + x) * channels
                        for c in 0..<channels { out[d + c] = source[s + c] }
                    }
                }
            }
        }
    }
}

/// Finds the orientation tag in the EXIF data of a file, as Pillow's `Image.getexif` does:
/// the first `Exif\0\0` APP1 segment of a JPEG, the `eXIf` chunk of a PNG.
enum ExifReader {
    static func orientation(jpeg bytes: [UInt8]) -> Orientation? {
        var position = 2  // after SOI
        while position + 4 <= bytes.count {
            guard bytes[position] == 0xFF else { return nil }
            let marker = bytes[position + 1]
            if marker == 0xFF { position += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { position += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }  // image data starts: no EXIF before it
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            let start = position + 4
            let end = position + 2 + length
            guard length >= 2, end <= bytes.count else { return nil }
            if marker == 0xE1, end - start >= 6, bytes[start..<start + 6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) {
                return orientation(tiff: bytes[(start + 6)..<end])
            }
            position = end
        }
        return nil
    }

    static func orientation(png bytes: [UInt8]) -> Orientation? {
        var position = 8  // after the signature
        while position + 8 <= bytes.count {
            let length = bytes[position..<position + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = bytes[(position + 4)..<(position + 8)]
            let start = position + 8
            guard length <= bytes.count - start else { return nil }
            if type.elementsEqual(Array("eXIf".utf8)) {
                return orientation(tiff: bytes[start..<(start + length)])
            }
            if type.elementsEqual(Array("IEND".utf8)) { return nil }
            position = start + length + 4  // data and CRC
        }
        return nil
    }

    /// Reads tag 0x0112 from IFD0 of a TIFF structure; nil when absent, malformed or not 1–8.
    static func orientation(tiff: ArraySlice<UInt8>) -> Orientation? {
        let base = tiff.startIndex
        let count = tiff.count
        guard count >= 8 else { return nil }
        let littleEndian: Bool
        switch (tiff[base], tiff[base + 1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func read(_ offset: Int, _ size: Int) -> Int? {
            guard offset >= 0, offset + size <= count else { return nil }
            var value = 0
            for i in 0..<size {
                let byte = Int(tiff[base + offset + (littleEndian ? size - 1 - i : i)])
                value = value << 8 | byte
            }
            return value
        }
        guard let ifd = read(4, 4), let entries = read(ifd, 2) else { return nil }
        for entry in 0..<entries {
            let at = ifd + 2 + entry * 12
            guard let tag = read(at, 2), let type = read(at + 2, 2) else { return nil }
            guard tag == 0x0112 else { continue }
            // SHORT is the specified type; LONG is accepted as Pillow does.
            let value = type == 3 ? read(at + 8, 2) : type == 4 ? read(at + 8, 4) : nil
            return value.flatMap { UInt16(exactly: $0) }.flatMap(Orientation.init(rawValue:))
        }
        return nil
    }
}
