import Foundation

/// A problem with a model folder's configuration files, naming the file and the field.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// Reads and decodes the JSON files of a HuggingFace model folder.
public struct ModelDirectory: Sendable {
    public let url: URL

    /// Checks that `url` is a readable directory.
    public init(_ url: URL) throws(ConfigError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ConfigError(file: url.path, reason: "no such model folder")
        }
        guard isDirectory.boolValue else {
            throw ConfigError(file: url.path, reason: "not a folder; pass the model folder that holds config.json and the processor configs")
        }
        self.url = url
    }

    public func contains(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path)
    }

    /// The parsed JSON object in `name`, or nil when the file does not exist.
    public func jsonObject(_ name: String) throws(ConfigError) -> [String: Any]? {
        let file = url.appendingPathComponent(name)
        guard contains(name) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw ConfigError(file: file.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ConfigError(file: file.path, reason: "is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            throw ConfigError(file: file.path, reason: "must hold a JSON object at the top level")
        }
        return dictionary
    }

    /// Decodes `object` (a part of file `name`) as `T`, turning decoding failures into errors
    /// that name the file and the field.
    public func decode<T: Decodable>(_ type: T.Type, from object: [String: Any], file name: String) throws(ConfigError) -> T {
        let path = url.appendingPathComponent(name).path
        do {
            let data = try JSONSerialization.data(withJSONObject: object)
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(file: path, reason: Self.describe(error))
        } catch {
            throw ConfigError(file: path, reason: "\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func field(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "field '\(field(context.codingPath))' should be \(type)"
        case .valueNotFound(let type, let context):
            return "field '\(field(context.codingPath))' should be \(type), found null"
        case .keyNotFound(let key, let context):
            return "missing field '\(field(context.codingPath + [key]))'"
        case .dataCorrupted(let context):
            return "field '\(field(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

extension KeyedDecodingContainer {
    /// A positive integer field; `fallback` when it is absent (required when there is none).
    /// At most 2^24, which any real size, count or vocabulary stays far below, so that products
    /// of a few of them (a layer's width times its heads, patches per side squared) cannot overflow.
    func positiveInt(_ key: Key, default fallback: Int? = nil) throws -> Int {
        guard let value = try decodeIfPresent(Int.self, forKey: key) ?? fallback else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "required"))
        }
        guard value > 0 else { throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be positive, got \(value)") }
        guard value <= 1 << 24 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(value) is implausibly large (at most \(1 << 24))")
        }
        return value
    }
}
