import Foundation
import ImageCodec
import ImageOps
import Testing
import TestSupport

/// One Pillow `Image.resize` result from Tests/Fixtures/resize/manifest.json.
struct ResizeCase: Decodable, CustomTestStringConvertible, Sendable {
    let source: String
    let width: Int
    let height: Int
    let filter: String
    let pixels: String

    var testDescription: String { "\(source) → \(width)×\(height) \(filter)" }
}

@Suite struct ResamplingTests {
    static let cases = try! Fixtures.json([ResizeCase].self, "resize/manifest.json")

    static let filters: [String: ResamplingFilter] = [
        "lanczos": .lanczos, "bicubic": .bicubic, "bilinear": .bilinear, "box": .box, "hamming": .hamming,
    ]

    @Test func coversUpAndDownScalingForEachFilter() {
        #expect(Self.cases.count >= 20)
        for filter in ["lanczos", "bicubic", "bilinear"] {
            #expect(Self.cases.contains { $0.filter == filter && $0.width > 227 })  // up
            #expect(Self.cases.contains { $0.filter == filter && $0.width < 61 })   // down
        }
    }

    /// Bit-identical to Pillow: same taps, same fixed-point rounding, same two passes.
    @Test(arguments: cases)
    func matchesPillow(_ c: ResizeCase) throws {
        let source = try ImageDecoder.decode(contentsOf: Fixtures.url("resize/" + c.source))
        let resized = source.resized(width: c.width, height: c.height, filter: try #require(Self.filters[c.filter]))
        #expect(resized.width == c.width && resized.height == c.height)
        let reference = try Fixtures.bytes("resize/" + c.pixels)
        let comparison = ByteComparison(resized.pixels, reference)
        #expect(comparison.differing == 0, "\(comparison)")
    }

    @Test func sameSizeIsACopy() throws {
        let source = try ImageDecoder.decode(contentsOf: Fixtures.url("resize/noise.png"))
        #expect(source.resized(width: source.width, height: source.height, filter: .lanczos) == source)
    }
}

@Suite struct CompositingTests {
    /// Pillow's alpha_composite over opaque white, checked against its formula at the corners
    /// of the range and a few values in between.
    @Test func overWhite() throws {
        let samples: [UInt8] = [10, 200, 30, 0, 10, 200, 30, 255, 10, 200, 30, 128, 0, 0, 0, 1, 255, 0, 77, 254]
        let image = try #require(Image(width: 5, height: 1, layout: .rgba, pixels: samples))
        let rgb = image.compositedOverWhite()
        #expect(rgb.layout == .rgb)
        #expect(rgb.pixels == [255, 255, 255, 10, 200, 30, 132, 227, 142, 254, 254, 254, 255, 1, 78])  // from Pillow 13.0.0
    }
}
