import Foundation

/// Why a model could not be fetched from the Hub or found in the cache, worded so a person
/// knows what to do next.
public enum HubError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidReference(String)
    /// 401: a private or gated repository needs a token, or the repository does not exist
    /// (the Hub answers 401, not 404, for unknown repositories when no token is sent).
    case unauthorized(repository: String, tokenSent: Bool)
    /// 403: the token is valid but has no access (a gated model whose terms are not accepted).
    case forbidden(repository: String, message: String?)
    case repositoryNotFound(String)
    case revisionNotFound(repository: String, revision: String)
    case unreachable(endpoint: String, reason: String)
    case offlineNotCached(HubRepository, cache: String)
    case insufficientSpace(path: String, needed: Int64, available: Int64)
    case checksumMismatch(file: String, expected: String, actual: String)
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    case notAModel(repository: String, reason: String)
    case server(url: String, status: Int, message: String?)
    case filesystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let message):
            return message
        case .unauthorized(let repository, let tokenSent):
            return tokenSent
                ? "\(repository): the Hub refused the token (401). Check HF_TOKEN or run `huggingface-cli login` again; also check the repository name."
                : "\(repository): the Hub answered 401: the repository does not exist, or it is private or gated and needs a token. Check the name, or set HF_TOKEN (https://huggingface.co/settings/tokens)."
        case .forbidden(let repository, let message):
            return "\(repository): access denied (403)\(message.map { ": \($0)" } ?? ""). If the model is gated, accept its terms on https://huggingface.co/\(repository) with the account whose token is in HF_TOKEN."
        case .repositoryNotFound(let repository):
            return "\(repository): no such model repository on the Hub (404). Check the name."
        case .revisionNotFound(let repository, let revision):
            return "\(repository): no revision '\(revision)' (404). Use a branch, tag or commit hash that exists."
        case .unreachable(let endpoint, let reason):
            return "cannot reach \(endpoint) (\(reason)). If the model is already downloaded, set HF_HUB_OFFLINE=1 to use the cached copy."
        case .offlineNotCached(let repository, let cache):
            return "\(repository) is not in the cache (\(cache)) and offline mode is on (HF_HUB_OFFLINE=1 or --offline); download it first with `vqa pull \(repository)` while online."
        case .insufficientSpace(let path, let needed, let available):
            return "not enough disk space in \(path): the download needs \(megabytes(needed)) but \(megabytes(available)) are free. Free some space or point HF_HUB_CACHE elsewhere."
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): SHA-256 \(actual) does not match the Hub's \(expected); the damaged download was deleted. Run the command again."
        case .sizeMismatch(let file, let expected, let actual):
            return "\(file): received \(actual) bytes but the Hub announced \(expected); the download is kept and resumes on the next run."
        case .notAModel(let repository, let reason):
            return "\(repository): \(reason)"
        case .server(let url, let status, let message):
            return "\(url): the Hub answered HTTP \(status)\(message.map { " (\($0))" } ?? ""). Try again later."
        case .filesystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

func megabytes(_ bytes: Int64) -> String {
    bytes >= 1_000_000_000 ? String(format: "%.2f GB", Double(bytes) / 1e9) : String(format: "%.1f MB", Double(bytes) / 1e6)
}
