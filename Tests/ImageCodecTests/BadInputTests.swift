import Foundation
import ImageCodec
import Testing
import TestSupport

@Suite struct BadInputTests {
    func reason(_ body: () throws -> Image) -> ImageDecodingError.Reason? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? ImageDecodingError)?.reason
        }
    }

    @Test func emptyFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID()).png")
        try Data().write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(reason { try ImageDecoder.decode(contentsOf: url) } == .empty)
    }

    @Test func directory() {
        let reason = reason { try ImageDecoder.decode(contentsOf: Fixtures.url("jpeg")) }
        #expect(reason == .unreadable("it is a directory"))
    }

    @Test func missingFile() {
        #expect(reason { try ImageDecoder.decode(contentsOf: Fixtures.url("no-such-image.png")) } == .unreadable("no such file"))
    }

    /// Devices and other non-regular files are refused before anything is read from them.
    @Test func deviceIsRefused() {
        #expect(reason { try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: "/dev/zero")) } == .unreadable("not a regular file"))
    }

    @Test func textFileIsNotAnImage() {
        let reason = reason { try ImageDecoder.decode(contentsOf: Fixtures.url("jpeg/LICENSE.md")) }
        #expect(reason == ImageDecodingError.Reason.unsupportedFormat(detected: nil))
    }

    @Test func otherFormatsAreNamed() {
        let gif = Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 20)
        #expect(reason { try ImageDecoder.decode(gif, source: "a.gif") } == .unsupportedFormat(detected: "GIF"))
        let webp = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8)
        #expect(reason { try ImageDecoder.decode(webp, source: "a.webp") } == .unsupportedFormat(detected: "WebP"))
    }

    /// The format comes from the bytes, not the name.
    @Test func extensionIsIgnored() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("really-a-jpeg-\(UUID()).png")
        try Data(Fixtures.bytes("jpeg/testorig.jpg")).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try ImageDecoder.decode(contentsOf: url).width == 227)
    }

    /// A 100 000 × 100 000 PNG header is refused from the header alone: no 30 GB buffer.
    @Test func hugePNGHeaderIsRefusedBeforeAllocating() {
        var ihdr = Array("IHDR".utf8)
        for value in [UInt32(100_000), 100_000] { ihdr += withUnsafeBytes(of: value.bigEndian, Array.init) }
        ihdr += [8, 2, 0, 0, 0]  // 8-bit RGB
        let idat = Array("IDAT".utf8) + [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]  // an empty zlib stream
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk(ihdr) + chunk(idat) + chunk(Array("IEND".utf8))
        let reason = reason { try ImageDecoder.decode(png, source: "huge.png") }
        #expect(reason == .tooLarge(width: 100_000, height: 100_000, limit: DecodingOptions.defaultMaxPixels))
    }

    @Test func hugeJPEGHeaderIsRefusedBeforeAllocating() throws {
        var jpeg = try Fixtures.bytes("jpeg/testorig.jpg")
        let sof = try #require(jpeg.indices.first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])  // 60000 × 60000
        let reason = reason { try ImageDecoder.decode(jpeg, source: "huge.jpg") }
        #expect(reason == .tooLarge(width: 60_000, height: 60_000, limit: DecodingOptions.defaultMaxPixels))
    }

    /// libjpeg passes over the whole image once per progressive scan: a file of very many scans
    /// (here progressive.jpg's last one repeated) is refused after 500, where it could take hours.
    /// 100 repeats still decode: libjpeg only warns about a repeated scan.
    @Test func progressiveScansAreCapped() throws {
        let jpeg = try Fixtures.bytes("jpeg/progressive.jpg")
        let lastScan = try #require(jpeg.indices.dropLast().last { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        let end = jpeg.count - 2  // the EOI marker
        #expect(Array(jpeg[end...]) == [0xFF, 0xD9])
        func repeated(_ times: Int) -> [UInt8] {
            Array(jpeg[..<end]) + Array([[UInt8]](repeating: Array(jpeg[lastScan..<end]), count: times).joined()) + [0xFF, 0xD9]
        }
        #expect(try ImageDecoder.decode(repeated(100), source: "scans.jpg").width == 227)
        #expect(reason { try ImageDecoder.decode(repeated(600), source: "scans.jpg") } == .corrupt("more than 500 progressive scans"))
    }

    /// The header alone is checked without the pixels: a cut file passes it, then fails to decode.
    @Test func headerIsReadWithoutThePixels() throws {
        let cut = Array(try Fixtures.bytes("jpeg/testorig.jpg").prefix(3000))
        let header = try ImageDecoder.header(of: cut, source: "cut.jpg")
        #expect(header.format == .jpeg && header.width == 227 && header.height == 149)
        guard case .truncated = reason({ try ImageDecoder.decode(cut, source: "cut.jpg") }) else {
            Issue.record("a cut JPEG decoded")
            return
        }
        do {
            _ = try ImageDecoder.header(of: cut, source: "cut.jpg", options: DecodingOptions(maxPixels: 1000))
            Issue.record("the pixel limit was not checked")
        } catch {
            #expect(error.reason == .tooLarge(width: 227, height: 149, limit: 1000))
        }
    }

    @Test func limitIsConfigurable() throws {
        let url = Fixtures.url("jpeg/testorig.jpg")
        #expect(reason { try ImageDecoder.decode(contentsOf: url, options: DecodingOptions(maxPixels: 1000)) }
            == .tooLarge(width: 227, height: 149, limit: 1000))
    }

    /// Length, type and data, CRC.
    private func chunk(_ typeAndData: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(typeAndData.count - 4).bigEndian, Array.init) + typeAndData
            + withUnsafeBytes(of: crc32(typeAndData).bigEndian, Array.init)
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

/// Damaged files either decode or throw: never a crash, a hang or a partial image.
@Suite struct RobustnessTests {
    static let samples = ["pngsuite/basn2c08.png", "pngsuite/basi3p08.png", "pngsuite/tbrn2c08.png",
                          "jpeg/testorig.jpg", "jpeg/progressive.jpg", "jpeg/testimgari.jpg"]

    /// Every proper prefix: a JPEG cut anywhere is an error; a PNG decodes only once all of its
    /// image data is there (what follows IDAT cannot change the pixels), and then completely.
    @Test(arguments: samples)
    func everyTruncation(_ file: String) throws {
        let bytes = try Fixtures.bytes(file)
        let whole = try ImageDecoder.decode(bytes, source: file)
        for length in 0..<bytes.count {
            do {
                let image = try ImageDecoder.decode(Array(bytes[0..<length]), source: file)
                #expect(file.hasSuffix(".png") && image == whole, "prefix of \(length) bytes decoded")
            } catch {
                #expect(error.source == file)
            }
        }
    }

    @Test(arguments: samples)
    func randomByteFlips(_ file: String) throws {
        let bytes = try Fixtures.bytes(file)
        var random = SplitMix64(seed: 0x5EED + UInt64(bytes.count))
        var decoded = 0, rejected = 0
        for _ in 0..<700 {
            var damaged = bytes
            for _ in 0..<Int(random.next() % 4 + 1) {
                damaged[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            }
            do {
                let image = try ImageDecoder.decode(damaged, source: file)
                #expect(image.pixels.count == image.width * image.height * image.channels)
                decoded += 1
            } catch {
                rejected += 1
            }
        }
        #expect(decoded + rejected == 700)
    }
}

/// A small seeded generator, so the flips are the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
