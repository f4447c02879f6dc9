import Checksums
import Foundation
import ImageCodec
import ModelFamilies

/// Vision-encoder outputs of images seen before, so that an image sent again (the same photo in
/// every turn of an OpenAI-style conversation, say) is not encoded twice.
///
/// Entries are keyed by the SHA-256 of the decoded pixels and the processor settings, so equal
/// images hit whatever file or URL they came from, and a different resize or tiling never
/// does. One cache belongs to one model: the key does not name the weights. Memory is bounded:
/// past `capacityBytes` the least recently used entries go. Safe to share between threads.
public final class ImageFeatureCache: @unchecked Sendable {
    public let capacityBytes: Int
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var usedBytes = 0
    private var clock: UInt64 = 0
    private var counts = Statistics()

    private struct Entry {
        let features: [Float]
        var lastUse: UInt64
        var bytes: Int { features.count * MemoryLayout<Float>.stride }
    }

    /// How the cache has done since it was made.
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var entries = 0
        public var bytes = 0
    }

    public init(capacityBytes: Int) {
        self.capacityBytes = max(0, capacityBytes)
    }

    /// The content key of `image` prepared with `config`.
    public static func key(for image: Image, processor config: Idefics3ImageProcessorConfig) -> String {
        var hash = SHA256()
        // The settings' description lists every field (sizes, filter, mean, std, splitting), so
        // any change to how the image is prepared changes the key.
        hash.update(Array("idefics3 \(config)\n\(image.width)x\(image.height) \(image.layout)\n".utf8))
        hash.update(image.pixels)
        return hash.finalizeHex()
    }

    /// The features stored under `key`, if any; a hit makes the entry the most recently used.
    public func features(for key: String) -> [Float]? {
        lock.withLock {
            clock += 1
            guard var entry = entries[key] else {
                counts.misses += 1
                return nil
            }
            counts.hits += 1
            entry.lastUse = clock
            entries[key] = entry
            return entry.features
        }
    }

    /// Stores `features` under `key`, evicting the least recently used entries to make room.
    /// Features larger than the whole capacity are not kept.
    public func store(_ features: [Float], for key: String) {
        let entry = Entry(features: features, lastUse: 0)
        guard entry.bytes <= capacityBytes else { return }
        lock.withLock {
            clock += 1
            if let old = entries.removeValue(forKey: key) { usedBytes -= old.bytes }
            while usedBytes + entry.bytes > capacityBytes, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                entries.removeValue(forKey: oldest.key)
                usedBytes -= oldest.value.bytes
            }
            entries[key] = Entry(features: features, lastUse: clock)
            usedBytes += entry.bytes
        }
    }

    public var statistics: Statistics {
        lock.withLock {
            var result = counts
            result.entries = entries.count
            result.bytes = usedBytes
            return result
        }
    }
}
