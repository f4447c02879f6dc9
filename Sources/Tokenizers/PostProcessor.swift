/// `post_processor` of tokenizer.json: what `add_special_tokens` adds around the ids.
enum PostProcessor: Sendable {
    /// TemplateProcessing's `single` template: special tokens' ids and `$A` (nil) in order.
    case template([[Int]?])
    /// ByteLevel's post-processing only adjusts offsets; ids are unchanged.
    case byteLevel
    case sequence([PostProcessor])

    init(_ json: JSONObject) throws(TokenizerError) {
        switch json.type {
        case "TemplateProcessing":
            let specials = try json.object("special_tokens")
            var items: [[Int]?] = []
            for (index, item) in try json.array("single").enumerated() {
                let entry = try JSONObject(item, path: "\(json.path).single[\(index)]")
                if entry.values["Sequence"] != nil {
                    let id = try entry.object("Sequence").string("id")
                    guard id == "A" else { throw TokenizerError(entry.path, "a single-sequence template can only use $A") }
                    items.append(nil)
                } else {
                    let name = try entry.object("SpecialToken").string("id")
                    guard let ids = try specials.object(name).values["ids"] as? [Int] else {
                        throw TokenizerError("\(specials.path).\(name).ids", "expected a list of ids")
                    }
                    items.append(ids)
                }
            }
            self = .template(items)
        case "ByteLevel":
            self = .byteLevel
        case "Sequence":
            var list: [PostProcessor] = []
            for (index, item) in try json.array("processors").enumerated() {
                list.append(try PostProcessor(JSONObject(item, path: "\(json.path).processors[\(index)]")))
            }
            self = .sequence(list)
        default:
            throw TokenizerError(json.path, "post-processor '\(json.type)' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)")
        }
    }

    func process(_ ids: [Int]) -> [Int] {
        switch self {
        case .template(let items): return items.flatMap { $0 ?? ids }
        case .byteLevel: return ids
        case .sequence(let list): return list.reduce(ids) { $1.process($0) }
        }
    }
}
