import Foundation

/// An HTML page taken out of a model's answer, and written or rendered without surprises.
public enum HTMLPage {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noHTML(answerStart: String)
        case exists(path: String)
        case cannotWrite(path: String, reason: String)

        public var description: String {
            switch self {
            case .noHTML(let start):
                return "the model's answer contains no HTML; it begins: \"\(start)\""
            case .exists(let path):
                return "\(path) exists; pass --overwrite to replace it"
            case .cannotWrite(let path, let reason):
                return "\(path): cannot write (\(reason))"
            }
        }
    }

    /// The HTML in `answer`: a fenced code block (preferring one tagged html; an unclosed fence
    /// at the end of a cut-off answer runs to the end), else a bare document from `<!DOCTYPE` or
    /// `<html` to the last `</html>`, else the span from the first tag to the last `>`, wrapped
    /// into a document. Chatter before and after is dropped.
    public static func extract(from answer: String) throws(Failure) -> String {
        let html: String
        if let fenced = fencedBlock(in: answer) {
            html = fenced
        } else if let document = bareDocument(in: answer) {
            html = document
        } else if let fragment = fragment(in: answer) {
            html = "<!DOCTYPE html>\n<html><body>\n" + fragment + "\n</body></html>"
        } else {
            throw Failure.noHTML(answerStart: String(answer.prefix(120)))
        }
        return html.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
    }

    private static func fencedBlock(in answer: String) -> String? {
        var blocks: [(language: String, body: String)] = []
        var rest = Substring(answer)
        while let open = rest.range(of: "```") {
            let afterFence = rest[open.upperBound...]
            let lineEnd = afterFence.firstIndex(of: "\n") ?? afterFence.endIndex
            let language = afterFence[..<lineEnd].trimmingCharacters(in: .whitespaces).lowercased()
            let body = afterFence[lineEnd...]
            if let close = body.range(of: "```") {
                blocks.append((language, String(body[..<close.lowerBound])))
                rest = body[close.upperBound...]
            } else {
                blocks.append((language, String(body)))
                break
            }
        }
        let withTags = blocks.filter { $0.body.contains("<") }
        return (withTags.first { ["html", "htm", "xhtml"].contains($0.language) } ?? withTags.first)?.body
    }

    private static func bareDocument(in answer: String) -> String? {
        guard let start = answer.range(of: "<!DOCTYPE", options: .caseInsensitive)?.lowerBound
            ?? answer.range(of: "<html", options: .caseInsensitive)?.lowerBound else { return nil }
        let end = answer.range(of: "</html>", options: [.caseInsensitive, .backwards], range: start..<answer.endIndex)?.upperBound
        return String(answer[start..<(end ?? answer.endIndex)])
    }

    private static func fragment(in answer: String) -> String? {
        var index = answer.startIndex
        while let open = answer[index...].firstIndex(of: "<") {
            let next = answer.index(after: open)
            if next < answer.endIndex, answer[next].isLetter,
               let close = answer.range(of: ">", options: .backwards, range: next..<answer.endIndex) {
                return String(answer[open..<close.upperBound])
            }
            index = next
        }
        return nil
    }

    /// Writes `html` to `url` completely or not at all (a temporary file in the same folder,
    /// then linked or renamed into place); an existing file is replaced only with `overwrite`,
    /// and the check cannot race with another writer.
    public static func write(_ html: String, to url: URL, overwrite: Bool) throws(Failure) {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do { try Data(html.utf8).write(to: temporary) } catch {
            throw Failure.cannotWrite(path: url.path, reason: error.localizedDescription)
        }
        defer { try? FileManager.default.removeItem(at: temporary) }
        if overwrite {
            guard rename(temporary.path, url.path) == 0 else {
                throw Failure.cannotWrite(path: url.path, reason: String(cString: strerror(errno)))
            }
        } else if link(temporary.path, url.path) != 0 {
            if errno == EEXIST { throw Failure.exists(path: url.path) }
            throw Failure.cannotWrite(path: url.path, reason: String(cString: strerror(errno)))
        }
    }
}

/// A PNG of a page rendered by headless Chromium, when Chromium is installed.
public enum Screenshot {
    public enum Failure: Error, CustomStringConvertible {
        case noChromium
        case failed(String)

        public var description: String {
            switch self {
            case .noChromium:
                return "--screenshot needs Chromium or Google Chrome, and none is on PATH (looked for chromium, chromium-browser, google-chrome, google-chrome-stable; or set CHROME_PATH). On Debian/Ubuntu: sudo apt-get install chromium. The HTML page was written anyway."
            case .failed(let reason):
                return "Chromium could not render the page: \(reason)"
            }
        }
    }

    /// `CHROME_PATH`, else the first Chromium or Chrome executable on `PATH`.
    public static func findChromium(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let path = environment["CHROME_PATH"], FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
        let folders = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for folder in folders where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
                return URL(fileURLWithPath: "\(folder)/\(name)")
            }
        }
        return nil
    }

    /// Renders `page` at `width`×`height` into `png`, giving Chromium at most `timeout` seconds.
    public static func render(_ page: URL, to png: URL, chromium: URL, width: Int = 1024, height: Int = 768,
                              timeout: TimeInterval = 60) throws(Failure) {
        let process = Process()
        process.executableURL = chromium
        // Chromium refuses to run as root without --no-sandbox (containers, CI).
        process.arguments = ["--headless", "--disable-gpu", "--hide-scrollbars", "--window-size=\(width),\(height)",
                             "--screenshot=\(png.path)"] + (geteuid() == 0 ? ["--no-sandbox"] : []) + [page.absoluteURL.absoluteString]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { throw Failure.failed(error.localizedDescription) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            throw Failure.failed("no result after \(Int(timeout)) s")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: png.path) else {
            throw Failure.failed("exit status \(process.terminationStatus): \(message.suffix(300))")
        }
    }
}
