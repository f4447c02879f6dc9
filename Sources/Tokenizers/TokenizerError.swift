import Foundation

/// A tokenizer file that cannot be used, or text that cannot be encoded with it.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    /// The file or component concerned (`tokenizer.json`, `pre_tokenizer.pretokenizers[1]`, ...).
    public let context: String
    public let reason: String

    public init(_ context: String, _ reason: String) {
        self.context = context
        self.reason = reason
    }

    public var description: String { "\(context): \(reason)" }
}

/// Typed accessors over the dictionaries JSONSerialization returns, with errors naming the path.
struct JSONObject {
    let path: String
    let values: [String: Any]

    init(_ value: Any?, path: String) throws(TokenizerError) {
        guard let values = value as? [String: Any] else { throw TokenizerError(path, "expected a JSON object") }
        self.path = path
        self.values = values
    }

    func isNull(_ key: String) -> Bool { values[key] == nil || values[key] is NSNull }

    func string(_ key: String) throws(TokenizerError) -> String {
        guard let value = values[key] as? String else { throw TokenizerError("\(path).\(key)", "expected a string") }
        return value
    }

    func optionalString(_ key: String) throws(TokenizerError) -> String? {
        if isNull(key) { return nil }
        return try string(key)
    }

    func bool(_ key: String, default fallback: Bool) throws(TokenizerError) -> Bool {
        if isNull(key) { return fallback }
        guard let value = values[key] as? Bool else { throw TokenizerError("\(path).\(key)", "expected true or false") }
        return value
    }

    func int(_ key: String) throws(TokenizerError) -> Int {
        guard let value = values[key] as? Int else { throw TokenizerError("\(path).\(key)", "expected an integer") }
        return value
    }

    func object(_ key: String) throws(TokenizerError) -> JSONObject {
        try JSONObject(values[key], path: "\(path).\(key)")
    }

    func array(_ key: String) throws(TokenizerError) -> [Any] {
        guard let value = values[key] as? [Any] else { throw TokenizerError("\(path).\(key)", "expected a list") }
        return value
    }

    /// The `type` of a component.
    var type: String { values["type"] as? String ?? "(no type)" }
}
