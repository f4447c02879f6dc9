/// Why a chat template could not be loaded, parsed or rendered.
public struct ChatTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The template is not valid Jinja (what jinja2 reports as `TemplateSyntaxError`).
        case syntax
        /// Rendering failed: a type error, an undefined value used where jinja2 refuses it, a sandbox violation.
        case runtime
        /// The template called `raise_exception(message)`; `message` is its argument.
        case raised
        /// The messages, variables or JSON handed in are not what a template can be given.
        case invalidInput
        /// A model folder holds a template file that cannot be read or understood.
        case invalidFile
    }

    public let kind: Kind
    public let message: String
    /// The 1-based template line the error is at, when known.
    public internal(set) var line: Int?
    /// The 1-based column (in Unicode scalars) the error is at, when known.
    public internal(set) var column: Int?
    /// The file the template or data came from, when it was loaded from a model folder.
    public internal(set) var file: String?

    init(_ kind: Kind, _ message: String, line: Int? = nil, column: Int? = nil, file: String? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.file = file
    }

    public var description: String {
        var place: [String] = []
        if let file { place.append(file) }
        if let line { place.append(column.map { "line \(line), column \($0)" } ?? "line \(line)") }
        let prefix: String
        switch kind {
        case .syntax: prefix = "template syntax error"
        case .runtime: prefix = "template error"
        case .raised: prefix = "template raised an exception"
        case .invalidInput: prefix = "invalid input"
        case .invalidFile: prefix = "invalid chat template file"
        }
        return place.isEmpty ? "\(prefix): \(message)" : "\(prefix) at \(place.joined(separator: ", ")): \(message)"
    }

    /// The same error, placed at `line`/`column` unless it already has a place.
    func placed(line: Int, column: Int) -> ChatTemplateError {
        guard self.line == nil else { return self }
        var placed = self
        placed.line = line
        placed.column = column
        return placed
    }
}

/// The most characters or elements one operation of a template may make (64 M): far beyond any
/// prompt, far below what would exhaust memory (where Python would raise `MemoryError`).
let largestTemplateValue = 1 << 26

/// `count`, when one operation of a template may make that many characters or elements.
func allowedSize(_ count: Int, _ what: String) throws(ChatTemplateError) -> Int {
    guard count <= largestTemplateValue else {
        throw ChatTemplateError(.runtime, "\(what) would make \(count) characters or elements, more than a template may (\(largestTemplateValue))")
    }
    return count
}
