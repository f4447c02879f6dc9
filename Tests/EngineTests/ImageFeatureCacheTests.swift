import ImageCodec
import ModelFamilies
import Runtime
import Testing

@Suite struct ImageFeatureCacheTests {
    func image(_ value: UInt8, width: Int = 4) -> Image {
        Image(width: width, height: 2, layout: .rgb, pixels: [UInt8](repeating: value, count: width * 2 * 3))!
    }

    /// Keys follow the pixels and the processor settings, nothing else.
    @Test func keysFollowPixelsAndSettings() {
        let config = Idefics3ImageProcessorConfig()
        var unsplit = config
        unsplit.doImageSplitting = false
        let key = ImageFeatureCache.key(for: image(1), processor: config)
        #expect(key == ImageFeatureCache.key(for: image(1), processor: config))
        #expect(key != ImageFeatureCache.key(for: image(2), processor: config))
        #expect(key != ImageFeatureCache.key(for: image(1), processor: unsplit))
        // The same bytes as a different shape are a different image.
        #expect(ImageFeatureCache.key(for: image(1, width: 2), processor: config)
                != ImageFeatureCache.key(for: Image(width: 1, height: 4, layout: .rgb, pixels: [UInt8](repeating: 1, count: 12))!, processor: config))
    }

    /// Past its capacity the least recently used entries go; an entry larger than the whole
    /// capacity is not kept.
    @Test func boundedLeastRecentlyUsed() {
        let cache = ImageFeatureCache(capacityBytes: 3 * 400)  // three entries of 100 floats
        for name in ["a", "b", "c"] { cache.store([Float](repeating: 1, count: 100), for: name) }
        #expect(cache.features(for: "a") != nil)  // a is now more recent than b
        cache.store([Float](repeating: 2, count: 100), for: "d")
        #expect(cache.features(for: "b") == nil)
        #expect(cache.features(for: "a") != nil && cache.features(for: "c") != nil && cache.features(for: "d") != nil)
        cache.store([Float](repeating: 3, count: 1000), for: "huge")
        #expect(cache.features(for: "huge") == nil)
        let statistics = cache.statistics
        #expect(statistics.entries == 3 && statistics.bytes == 1200 && statistics.hits == 4 && statistics.misses == 2)
    }
}
