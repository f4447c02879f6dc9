import Foundation
import ImageCodec
import Testing
import TestSupport

/// One entry of Tests/Fixtures/decoded/manifest.json: what Pillow (+ exif_transpose) makes of a file.
struct DecodedExpectation: Decodable {
    let width: Int?
    let height: Int?
    let layout: String?
    let pixels: String?
    let error: String?
    let note: String?
}

let decodedManifest = try! Fixtures.json([String: DecodedExpectation].self, "decoded/manifest.json")

@Suite struct PNGDecodingTests {
    static let suite = try! Fixtures.files(in: "pngsuite", withExtension: "png")

    @Test func suiteIsComplete() {
        #expect(Self.suite.count == 175)
    }

    /// Every valid PngSuite file decodes to exactly Pillow's RGB(A) bytes.
    @Test(arguments: suite.filter { !$0.hasPrefix("pngsuite/x") })
    func matchesPillow(_ file: String) throws {
        let expected = try #require(decodedManifest[file])
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url(file))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.layout == (expected.layout == "rgba" ? .rgba : .rgb))
        let reference = try Fixtures.bytes("decoded/" + #require(expected.pixels))
        let identical = image.pixels == reference
        #expect(identical, "\(ByteComparison(image.pixels, reference))")
    }

    /// The deliberately corrupt x*.png files are rejected with an error naming the file.
    /// (Pillow accepts one of them, xcsn0g01, whose IDAT checksum is wrong: it skips IDAT CRCs.)
    @Test(arguments: suite.filter { $0.hasPrefix("pngsuite/x") })
    func rejectsCorrupt(_ file: String) throws {
        let error = try #require(throws: ImageDecodingError.self) {
            try ImageDecoder.decode(contentsOf: Fixtures.url(file))
        }
        #expect(error.source.hasSuffix(file))
        #expect(error.description.contains(file))
    }

    /// Pillow clips 16-bit grey at 255 when converting to RGB, which turns nearly every pixel
    /// white; we keep the high byte, as Pillow itself does for 16-bit RGB and grey+alpha.
    @Test func sixteenBitGreyKeepsHighByte() throws {
        let expected = try #require(decodedManifest["pngsuite/basn0g16.png"])
        #expect(expected.note?.contains("Pillow clips") == true)
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url("pngsuite/basn0g16.png"))
        #expect(Set(image.pixels).count > 100)  // a gradient, not a white square
    }

    /// Pillow compares a grey tRNS value below 8 bits with samples already scaled to 8 bits, so
    /// the transparent grey stays opaque; libpng (and the PNG specification) scale the value too.
    @Test func lowBitDepthGreyTransparency() throws {
        let expected = try #require(decodedManifest["pngsuite/tbbn0g04.png"])
        #expect(expected.note?.contains("Pillow compares it unscaled") == true)
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url("pngsuite/tbbn0g04.png"))
        let transparent = stride(from: 3, to: image.pixels.count, by: 4).filter { image.pixels[$0] == 0 }.count
        #expect(transparent > 0)
    }

    @Test func pngExifOrientationIsApplied() throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url("png-extra/orientation-6.png"))
        #expect(image.width == 60 && image.height == 40)
        let stored = try ImageDecoder.decode(contentsOf: Fixtures.url("png-extra/orientation-6.png"),
                                             options: DecodingOptions(appliesOrientation: false))
        #expect(stored.width == 40 && stored.height == 60)
    }
}

@Suite struct JPEGDecodingTests {
    static let files = try! Fixtures.files(in: "jpeg", withExtension: "jpg")

    /// Every JPEG fixture matches Pillow within ±1 per channel; the ones Pillow cannot open
    /// (12-bit samples) are rejected.
    @Test(arguments: files)
    func matchesPillow(_ file: String) throws {
        let expected = try #require(decodedManifest[file])
        if expected.error != nil {
            #expect(throws: ImageDecodingError.self) { try ImageDecoder.decode(contentsOf: Fixtures.url(file)) }
            return
        }
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url(file))
        #expect(image.width == expected.width && image.height == expected.height && image.layout == .rgb)
        let comparison = ByteComparison(image.pixels, try Fixtures.bytes("decoded/" + #require(expected.pixels)))
        #expect(comparison.maxDifference <= 1, "\(comparison)")
    }

    /// Same libjpeg IDCT as Pillow's: baseline, progressive and arithmetic files are bit-identical.
    @Test(arguments: ["jpeg/testorig.jpg", "jpeg/progressive.jpg", "jpeg/testimgari.jpg", "jpeg/testimgint.jpg", "jpeg/grayscale.jpg"])
    func identicalToPillow(_ file: String) throws {
        let expected = try #require(decodedManifest[file])
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url(file))
        let reference = try Fixtures.bytes("decoded/" + #require(expected.pixels))
        let identical = image.pixels == reference
        #expect(identical, "\(ByteComparison(image.pixels, reference))")
    }

    /// All eight EXIF orientations come out upright: 227×149 like the picture they were made from.
    @Test(arguments: 1...8)
    func orientationIsApplied(_ orientation: Int) throws {
        let file = Fixtures.url("jpeg/orientation-\(orientation).jpg")
        let image = try ImageDecoder.decode(contentsOf: file)
        #expect(image.width == 227 && image.height == 149)
        let stored = try ImageDecoder.decode(contentsOf: file, options: DecodingOptions(appliesOrientation: false))
        #expect(stored.width == (orientation >= 5 ? 149 : 227))
    }

    @Test func twelveBitIsAClearError() throws {
        let error = try #require(throws: ImageDecodingError.self) {
            try ImageDecoder.decode(contentsOf: Fixtures.url("jpeg/monkey12.jpg"))
        }
        #expect(error.description.contains("monkey12.jpg") && error.description.contains("precision"))
    }
}
