import ImageCodec
@testable import ModelFamilies
import Testing
import TestSupport

/// `--max-tiles`: the tile budget is a smaller `size.longest_edge`, the knob transformers' processor has.
@Suite struct MaxTilesTests {
    let processor = Idefics3ImageProcessor(config: {
        var config = Idefics3ImageProcessorConfig()
        config.size = .longestEdge(2048)
        config.maxImageSize = 512
        return config
    }())

    func image(width: Int, height: Int) -> Image {
        Image(width: width, height: height, layout: .rgb) { pixels in
            for index in pixels.indices { pixels[index] = UInt8(truncatingIfNeeded: index % 251) }
        }
    }

    @Test(arguments: [
        // (width, height, budget, expected rows × cols)
        (1000, 1000, 16, 4, 4), (1000, 1000, 9, 3, 3), (1000, 1000, 4, 2, 2), (1000, 1000, 3, 0, 0), (1000, 1000, 1, 0, 0),
        (1600, 800, 8, 2, 4), (1600, 800, 6, 2, 3), (1600, 800, 2, 1, 2), (800, 1600, 5, 2, 1),
    ])
    func keepsWithinTheBudget(width: Int, height: Int, budget: Int, rows: Int, cols: Int) {
        let result = processor.process(image(width: width, height: height), maxTiles: budget)
        #expect(result.rows == rows && result.cols == cols)
        #expect(result.frames.count == (rows == 0 ? 1 : rows * cols + 1))
    }

    @Test func equalsTheProcessorWithTheSmallerLongestEdge() {
        let photo = image(width: 1600, height: 800)
        var smaller = processor.config
        smaller.size = .longestEdge(1536)
        let limited = processor.process(photo, maxTiles: 6)
        let reference = Idefics3ImageProcessor(config: smaller).process(photo)
        #expect(limited.frames.map(\.pixels) == reference.frames.map(\.pixels))
        #expect(processor.process(photo, maxTiles: nil).frames.count == 9)
    }
}
