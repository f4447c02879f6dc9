import Foundation
import Hub
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress line on standard error: redrawn in place on a terminal, plain lines otherwise
/// (a log file or CI output gets one line per event, not a stream of carriage returns).
final class ProgressLine: @unchecked Sendable {
    static let standardError = ProgressLine(interactive: isatty(STDERR_FILENO) == 1)

    let interactive: Bool
    private let lock = NSLock()
    private var shown = false

    init(interactive: Bool) {
        self.interactive = interactive
    }

    /// Redraws the line on a terminal; ignored otherwise.
    func update(_ text: String) {
        guard interactive else { return }
        lock.withLock {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8))
            shown = true
        }
    }

    /// A line that stays: replaces the progress line on a terminal, appended otherwise.
    func print(_ text: String) {
        lock.withLock {
            FileHandle.standardError.write(Data(((interactive && shown ? "\r\u{1B}[2K" : "") + text + "\n").utf8))
            shown = false
        }
    }

    /// `[#########.........]  45%` for a fraction in 0...1.
    static func bar(_ fraction: Double, width: Int = 24) -> String {
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            + String(format: " %3d%%", Int(min(max(fraction, 0), 1) * 100))
    }

    /// `1h02m`, `3m05s`, `42s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return "\(total)s"
    }
}

/// Shows a model download: a bar with size and speed per file on a terminal, a line per file otherwise.
final class DownloadDisplay: @unchecked Sendable {
    static let standardError = DownloadDisplay(line: .standardError)

    private let line: ProgressLine
    private let lock = NSLock()
    private var started: [String: (time: Date, bytes: Int64)] = [:]

    init(line: ProgressLine) {
        self.line = line
    }

    func show(_ progress: DownloadProgress) {
        let position = "[\(progress.index)/\(progress.count)] \(progress.file)"
        switch progress.stage {
        case .cached:
            break
        case .waitingForLock:
            line.print("\(position): another process is downloading it; waiting")
        case .downloading:
            let start = lock.withLock {
                if let start = started[progress.file] { return start }
                let start = (Date(), progress.bytes)
                started[progress.file] = start
                if !line.interactive { line.print("\(position): downloading \(sizeText(progress.total))") }
                return start
            }
            let elapsed = Date().timeIntervalSince(start.time)
            let rate = elapsed > 0 ? Double(progress.bytes - start.bytes) / elapsed : 0
            line.update(String(format: "%@ %@ %@ of %@, %.1f MB/s", position, ProgressLine.bar(Double(progress.bytes) / Double(max(progress.total, 1))),
                               sizeText(progress.bytes), sizeText(progress.total), rate / 1e6))
        case .finished:
            line.print("\(position): \(sizeText(progress.total)) ✓")
        }
    }

    private func sizeText(_ bytes: Int64) -> String {
        bytes >= 1_000_000 ? String(format: "%.1f MB", Double(bytes) / 1e6) : String(format: "%.1f kB", Double(bytes) / 1e3)
    }
}
