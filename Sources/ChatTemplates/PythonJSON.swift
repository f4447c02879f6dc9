/// Python's `json.dumps`, which transformers' `tojson` filter calls with
/// `ensure_ascii=False, indent=None, separators=None, sort_keys=False` unless the template says otherwise.
struct PythonJSONEncoder {
    var ensureASCII = false
    /// The text one level of indentation adds; nil writes everything on one line.
    var indent: String?
    var itemSeparator = ", "
    var keySeparator = ": "
    var sortKeys = false

    func encode(_ value: TemplateValue) throws -> String {
        var output = ""
        try write(value, level: 0, into: &output)
        return output
    }

    private func write(_ value: TemplateValue, level: Int, into output: inout String) throws {
        switch value {
        case .none: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let number): output += String(number)
        case .double(let number): output += floatText(number)
        case .string(let text): writeString(text, into: &output)
        case .list(let items), .tuple(let items):
            try writeContainer(items, open: "[", close: "]", level: level, into: &output) { item, output in
                try write(item, level: level + 1, into: &output)
            }
        case .dict(let dict):
            var entries = dict.entries
            if sortKeys { entries = try pythonSorted(entries) { $0.key } }
            try writeContainer(entries, open: "{", close: "}", level: level, into: &output) { entry, output in
                writeString(try keyText(entry.key), into: &output)
                output += keySeparator
                try write(entry.value, level: level + 1, into: &output)
            }
        default:
            throw ChatTemplateError(.runtime, "Object of type \(pythonTypeName(value)) is not JSON serializable")
        }
    }

    private func writeContainer<T>(
        _ elements: [T], open: String, close: String, level: Int, into output: inout String,
        writeElement: (T, inout String) throws -> Void
    ) throws {
        guard !elements.isEmpty else {
            output += open + close
            return
        }
        output += open
        let newline = indent.map { "\n" + String(repeating: $0, count: level + 1) }
        for (index, element) in elements.enumerated() {
            if index > 0 { output += itemSeparator }
            if let newline { output += newline }
            try writeElement(element, &output)
        }
        if let indent { output += "\n" + String(repeating: indent, count: level) }
        output += close
    }

    private func floatText(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return pythonFloatRepr(number)
    }

    /// JSON object keys: strings as they are, numbers, booleans and None converted as Python does.
    private func keyText(_ key: TemplateValue) throws -> String {
        switch key {
        case .string(let text): return text
        case .double(let number): return floatText(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .none: return "null"
        case .int(let number): return String(number)
        default:
            throw ChatTemplateError(.runtime, "keys must be str, int, float, bool or None, not \(pythonTypeName(key))")
        }
    }

    private func writeString(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{8}": output += "\\b"
            case "\u{C}": output += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let offset = scalar.value - 0x10000
                        output += unicodeEscape(0xD800 + (offset >> 10)) + unicodeEscape(0xDC00 + (offset & 0x3FF))
                    } else {
                        output += unicodeEscape(scalar.value)
                    }
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    private func unicodeEscape(_ code: UInt32) -> String {
        let hex = String(code, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
