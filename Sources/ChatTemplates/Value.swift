import Foundation

/// JSON-like data handed to a chat template: messages, tools, documents and extra variables.
///
/// Integers and doubles stay distinct because templates print them differently (`1` vs `1.0`),
/// and objects keep their keys in insertion order because `tojson` prints them in that order.
public enum Value: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([Value])
    case object(ValueObject)

    /// Parses JSON the way Python's `json.loads` does: `1` is an int, `1.0` a double, and object
    /// keys keep their order. Throws a `ChatTemplateError` of kind `.invalidInput` on malformed JSON.
    public init(json data: Data) throws {
        self = try JSONReader.parse(data)
    }

    /// Parses a JSON string; see `init(json:)`.
    public init(jsonString: String) throws {
        self = try JSONReader.parse(Data(jsonString.utf8))
    }

    /// The string, when this is a `.string`.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The elements, when this is an `.array`.
    public var arrayValue: [Value]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The object, when this is an `.object`.
    public var objectValue: ValueObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The flag, when this is a `.bool`.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// The value of a key, when this is an `.object` that has it.
    public subscript(key: String) -> Value? {
        objectValue?[key]
    }
}

/// A JSON object whose keys keep their insertion order, like a Python `dict`.
///
/// Equality ignores the order, as Python's `dict` equality does.
public struct ValueObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    public init() {}

    public init(dictionaryLiteral elements: (String, Value)...) {
        for (key, value) in elements { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Reading a missing key gives nil; assigning nil removes the key; assigning a new key appends it.
    public subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public func makeIterator() -> AnyIterator<(key: String, value: Value)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            let key = keys[index]
            return (key, storage[key]!)
        }
    }

    public static func == (lhs: ValueObject, rhs: ValueObject) -> Bool {
        lhs.storage == rhs.storage
    }
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        var object = ValueObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}
