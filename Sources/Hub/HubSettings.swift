import Foundation

/// Where the Hub is and how to talk to it, read from the same environment variables as the
/// Python `huggingface_hub` library so that both share one cache and one token.
public struct HubSettings: Sendable {
    /// `HF_ENDPOINT`, default https://huggingface.co.
    public var endpoint: URL
    /// `HF_HUB_CACHE`, else `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    public var cacheDirectory: URL
    /// `HF_TOKEN`, else the token file `huggingface-cli login` writes (`HF_TOKEN_PATH`, default `HF_HOME/token`).
    public var token: String?
    /// `HF_HUB_OFFLINE`: never make a request; use what is cached.
    public var offline: Bool
    /// Seconds without any bytes before a request fails.
    public var timeout: TimeInterval = 30

    public init(endpoint: URL, cacheDirectory: URL, token: String? = nil, offline: Bool = false) {
        self.endpoint = endpoint
        self.cacheDirectory = cacheDirectory
        self.token = token
        self.offline = offline
    }

    public static let defaultEndpoint = URL(string: "https://huggingface.co")!

    /// The settings `huggingface_hub` would use in this environment.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> HubSettings {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        let home = value("HOME").map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let hfHome = value("HF_HOME").map { URL(fileURLWithPath: $0) }
            ?? (value("XDG_CACHE_HOME").map { URL(fileURLWithPath: $0) } ?? home.appendingPathComponent(".cache"))
                .appendingPathComponent("huggingface")
        let cache = (value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE")).map { URL(fileURLWithPath: $0) }
            ?? hfHome.appendingPathComponent("hub")
        var endpointText = value("HF_ENDPOINT") ?? defaultEndpoint.absoluteString
        while endpointText.hasSuffix("/") { endpointText.removeLast() }
        let endpoint = URL(string: endpointText) ?? defaultEndpoint
        var token = (value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN"))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if token == nil {
            let tokenFile = value("HF_TOKEN_PATH").map { URL(fileURLWithPath: $0) } ?? hfHome.appendingPathComponent("token")
            token = (try? String(contentsOf: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if token?.isEmpty == true { token = nil }
        let offline = ["1", "ON", "YES", "TRUE"].contains((value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE") ?? "").uppercased())
        return HubSettings(endpoint: endpoint, cacheDirectory: cache, token: token, offline: offline)
    }
}

/// A model repository on the Hub and the revision wanted: `ORG/NAME[@REVISION]`.
public struct HubRepository: Sendable, Hashable, CustomStringConvertible {
    public let id: String
    /// A branch, tag or commit hash; `main` when none is given.
    public let revision: String

    public init(id: String, revision: String = "main") throws(HubError) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        // The Hub's own rules (huggingface_hub validate_repo_id): letters, digits, - _ . in each
        // part, no "--" or "..", at most 96 characters.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed.contains) && $0.first != "." && $0.last != "." }),
              !id.contains("--"), !id.contains(".."), id.count <= 96 else {
            throw HubError.invalidReference("'\(id)' is not a Hub model id; expected ORG/NAME, e.g. HuggingFaceTB/SmolVLM-256M-Instruct")
        }
        guard !revision.isEmpty, !revision.contains(".."), !revision.hasPrefix("/"),
              !revision.unicodeScalars.contains(where: { $0.value < 0x21 }) else {
            throw HubError.invalidReference("'\(revision)' is not a valid revision (a branch, tag or commit hash)")
        }
        self.id = id
        self.revision = revision
    }

    /// Parses `ORG/NAME` or `ORG/NAME@REVISION`.
    public init(parsing text: String) throws(HubError) {
        if let at = text.firstIndex(of: "@") {
            try self.init(id: String(text[..<at]), revision: String(text[text.index(after: at)...]))
        } else {
            try self.init(id: text)
        }
    }

    /// Whether the revision is a full commit hash (immutable, so a cached copy never needs checking).
    public var revisionIsCommit: Bool {
        revision.count == 40 && revision.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    public var description: String { revision == "main" ? id : "\(id)@\(revision)" }
}

/// A model as a person names it on a command line: a folder, or a Hub repository.
public enum ModelReference: Sendable, Equatable {
    case folder(URL)
    case hub(HubRepository)

    /// A path that exists (or starts with / or .) is a folder; anything else must be a Hub id
    /// `ORG/NAME[@REVISION]`.
    public init(parsing argument: String) throws(HubError) {
        if FileManager.default.fileExists(atPath: argument) || argument.hasPrefix("/") || argument.hasPrefix(".") {
            self = .folder(URL(fileURLWithPath: argument))
            return
        }
        do { self = .hub(try HubRepository(parsing: argument)) } catch {
            throw HubError.invalidReference("\(argument): no such folder, and not a Hub id ORG/NAME[@REVISION]")
        }
    }
}
