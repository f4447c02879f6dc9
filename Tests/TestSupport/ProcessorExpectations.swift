import Foundation
import Tensors

/// Tests/Fixtures/processor/expected/manifest.json: transformers' SmolVLMImageProcessorPil outputs.
public struct ProcessorExpectations: Decodable, Sendable {
    public struct Case: Decodable, Sendable, CustomStringConvertible {
        public let model: String
        public let images: [String]
        public let split: Bool
        public let shape: [Int]
        public let rows: [Int]
        public let cols: [Int]
        public let levels_checksum: String
        public let frame_level_sums: [Int]
        /// A PNG of the frames stacked vertically, channels last, when stored.
        public let frames: String?

        public var description: String { "\(model) \(split ? "split" : "no split") \(images.joined(separator: " + "))" }
    }

    public let generator: String
    /// transformers' float32 value of each 8-bit level, as bit patterns.
    public let level_values_f32_bits: [UInt32]
    public let cases: [Case]

    public static let fixture = try! Fixtures.json(ProcessorExpectations.self, "processor/expected/manifest.json")

    public func firstCase(model: String, images: [String], split: Bool) -> Case? {
        cases.first { $0.model == model && $0.images == images && $0.split == split }
    }

    public struct NotALevel: Error, CustomStringConvertible {
        public let value: Float
        public var description: String { "\(value) is not transformers' float32 of an 8-bit level" }
    }

    /// The 8-bit level behind each value of `pixelValues`, checking on the way that each value is
    /// exactly transformers' float32 for that level.
    public func levels(of pixelValues: Tensor) throws -> [UInt8] {
        let table = level_values_f32_bits.map(Float.init(bitPattern:))
        return try pixelValues.scalars.map { value in
            let level = Int(((Double(value) * 0.5 + 0.5) * 255).rounded())
            guard (0...255).contains(level), table[level].bitPattern == value.bitPattern else { throw NotALevel(value: value) }
            return UInt8(level)
        }
    }

    /// The fixture script's position-weighted checksum of levels (wrapping at 2^64), in hex.
    public static func checksum(_ levels: [UInt8]) -> String {
        var sum: UInt64 = 0
        for (index, level) in levels.enumerated() {
            sum &+= UInt64(level) &* ((UInt64(index) &* 2_654_435_761) & 0xFFFF_FFFF)
        }
        let hex = String(sum, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
