import Foundation

/// Locates the committed fixtures (Tests/Fixtures) from the source tree, so tests need no bundle.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The repository root (for Assets/ and the built products).
    public static let repository = root.deletingLastPathComponent().deletingLastPathComponent()

    public static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    public static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(relativePath)))
    }

    /// Decodes a JSON fixture.
    public static func json<T: Decodable>(_ type: T.Type, _ relativePath: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(relativePath)))
    }

    /// The relative paths of the files in a fixture folder with the given extension, sorted.
    public static func files(in folder: String, withExtension ext: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(folder).path)
            .filter { $0.hasSuffix("." + ext) }.sorted().map { "\(folder)/\($0)" }
    }
}

/// How two byte buffers differ: the largest absolute difference and how many bytes differ.
public struct ByteComparison: CustomStringConvertible, Sendable {
    public let maxDifference: Int
    public let differing: Int
    public let count: Int

    public init(_ a: [UInt8], _ b: [UInt8]) {
        precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
        var maxDifference = 0, differing = 0
        for i in a.indices where a[i] != b[i] {
            differing += 1
            maxDifference = max(maxDifference, abs(Int(a[i]) - Int(b[i])))
        }
        self.maxDifference = maxDifference
        self.differing = differing
        self.count = a.count
    }

    public var identicalFraction: Double { count == 0 ? 1 : Double(count - differing) / Double(count) }

    public var description: String {
        "max |diff| \(maxDifference), \(differing) of \(count) values differ (\(String(format: "%.4f", identicalFraction * 100))% identical)"
    }
}
