import Foundation

/// The special tokens a runtime needs from a model folder: BOS/EOS/PAD/UNK as
/// `tokenizer_config.json` names them, with `generation_config.json`'s ids taking precedence
/// for generation (it may list several end-of-sequence ids).
public struct SpecialTokens: Sendable, Equatable {
    public var bos: Int?
    /// Every id that ends generation.
    public var eos: [Int]
    public var pad: Int?
    public var unk: Int?
    /// The token strings by role (`bos_token`, `eos_token`, ...), as the chat template sees them.
    public var strings: [String: String]

    public init(bos: Int? = nil, eos: [Int] = [], pad: Int? = nil, unk: Int? = nil, strings: [String: String] = [:]) {
        self.bos = bos
        self.eos = eos
        self.pad = pad
        self.unk = unk
        self.strings = strings
    }

    static let roles = ["bos_token", "eos_token", "pad_token", "unk_token"]

    /// Reads `tokenizer_config.json` and `generation_config.json` in `folder` (both optional)
    /// and resolves token strings through `tokenizer`.
    public static func load(from folder: URL, tokenizer: Tokenizer) throws(TokenizerError) -> SpecialTokens {
        var result = SpecialTokens()
        if let config = try readObject(folder.appendingPathComponent("tokenizer_config.json")) {
            for role in roles {
                guard let value = config.values[role], !(value is NSNull) else { continue }
                // A plain string, or an AddedToken object {"content": ...} in older files.
                guard let content = (value as? String) ?? (value as? [String: Any])?["content"] as? String else {
                    throw TokenizerError("\(config.path).\(role)", "expected a token string or {\"content\": ...}")
                }
                guard let id = tokenizer.id(for: content) else {
                    throw TokenizerError("\(config.path).\(role)", "'\(content)' is not a token of tokenizer.json")
                }
                result.strings[role] = content
                switch role {
                case "bos_token": result.bos = id
                case "eos_token": result.eos = [id]
                case "pad_token": result.pad = id
                default: result.unk = id
                }
            }
        }
        if let generation = try readObject(folder.appendingPathComponent("generation_config.json")) {
            if let bos = try ids(generation, "bos_token_id", tokenizer).first { result.bos = bos }
            let eos = try ids(generation, "eos_token_id", tokenizer)
            if !eos.isEmpty { result.eos = eos }
            if let pad = try ids(generation, "pad_token_id", tokenizer).first { result.pad = pad }
        }
        return result
    }

    private static func readObject(_ url: URL) throws(TokenizerError) -> JSONObject? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONObject(JSONSerialization.jsonObject(with: Data(contentsOf: url)), path: url.path)
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError(url.path, "is not valid JSON")
        }
    }

    /// An id or a list of ids; each must exist in the tokenizer.
    private static func ids(_ json: JSONObject, _ key: String, _ tokenizer: Tokenizer) throws(TokenizerError) -> [Int] {
        guard let value = json.values[key], !(value is NSNull) else { return [] }
        guard let ids = (value as? [Int]) ?? (value as? Int).map({ [$0] }) else {
            throw TokenizerError("\(json.path).\(key)", "expected an id or a list of ids")
        }
        for id in ids where tokenizer.token(for: id) == nil {
            throw TokenizerError("\(json.path).\(key)", "id \(id) is not in tokenizer.json")
        }
        return ids
    }
}
