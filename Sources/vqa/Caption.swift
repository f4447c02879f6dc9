import ArgumentParser
import ChatTemplates
import Foundation
import ImageCodec
import Runtime

/// `vqa caption`: one caption per image for whole folders, written as JSON lines, resumable and
/// shardable across processes.
struct Caption: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Caption many images into a JSON-lines file; rerun to resume, --shard to split across processes.",
        discussion: """
            Inputs are image files, folders (searched recursively for .png, .jpg and .jpeg files), \
            text files (.txt) listing one path per line, or - to read such a list from standard input. \
            Each image becomes one line of --output: {"path", "caption", "prompt_tokens", \
            "completion_tokens", "milliseconds", "finish_reason"}, or {"path", "error"} when it cannot \
            be read, and the batch goes on. Running again skips the paths already in the file, so a \
            killed run loses at most the image it was working on. --shard K/N keeps the inputs whose \
            path hashes to K modulo N (K from 0), so N processes with their own --output files split \
            a set without talking to each other.
            """)

    @OptionGroup var model: ModelOption

    @OptionGroup var weights: WeightsOption

    @Option(name: .long, help: "The JSON-lines file to write (appended to; existing lines are kept and skipped).",
            completion: .file(extensions: ["jsonl"]))
    var output: String

    @Option(name: .long, help: "The instruction sent with each image.")
    var prompt = "Describe this image in one sentence."

    @Option(name: .long, help: ArgumentHelp("Caption only this part of the inputs, K of N (0 ≤ K < N).", valueName: "K/N"))
    var shard: String?

    @Flag(name: .long, help: "Caption again the images whose earlier attempt is recorded as an error.")
    var retryErrors = false

    @OptionGroup var detail: ImageDetailOptions

    @Option(name: .long, help: "Refuse images with more pixels than this (checked before decoding).")
    var maxPixels = DecodingOptions.defaultMaxPixels

    @OptionGroup var sampling: SamplingOptions

    @Argument(help: "Images, folders, .txt lists of paths, or - for a list on standard input.", completion: .file())
    var inputs: [String] = []

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give images, folders or a .txt list of paths") }
        if maxPixels <= 0 { throw ValidationError("--max-pixels must be positive") }
        if let shard { _ = try Shard(parsing: shard) }
        if sampling.ignoreEOS { throw ValidationError("--ignore-eos is for benchmarks; a caption ends at the end-of-sequence token") }
    }

    func run() async throws {
        let shard = try shard.map(Shard.init(parsing:)) ?? Shard(index: 0, count: 1)
        let all = try CaptionInputs.collect(inputs)
        let mine = all.filter(shard.contains)
        let log = try CaptionLog(URL(fileURLWithPath: output))
        defer { log.closeFile() }
        if let repaired = log.repairedBytes {
            note("\(output): removed an unfinished last line (\(repaired) bytes) left by an interrupted run")
        }
        let todo = mine.filter { !log.isDone($0, retryingErrors: retryErrors) }
        note("\(all.count) images" + (shard.count > 1 ? ", \(mine.count) in shard \(shard.index)/\(shard.count)" : "")
             + (mine.count > todo.count ? ", \(mine.count - todo.count) already in \(output)" : "") + ", \(todo.count) to caption")
        guard !todo.isEmpty else { return }

        let vlm = try weights.loadModel(try await model.folder())
        let parameters = sampling.parameters()
        let decoding = DecodingOptions(maxPixels: maxPixels)
        let progress = BatchProgress(total: todo.count, line: .standardError)
        for path in todo {
            let started = Date()
            var record: [String: Any] = ["path": path]
            do {
                let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path), options: decoding)
                let prepared = try vlm.prepare(messages: [.user([.image, .text(prompt)])], images: [image],
                                               imageSplitting: detail.imageSplitting, maxTiles: detail.maxTiles)
                var caption = ""
                let report = try vlm.generate(prepared, parameters: parameters) { event in
                    if case .text(let piece) = event { caption += piece }
                }
                record["caption"] = caption.trimmingCharacters(in: .whitespacesAndNewlines)
                record["prompt_tokens"] = report.promptTokens
                record["completion_tokens"] = report.completionTokens
                record["finish_reason"] = report.finish.rawValue
                record["milliseconds"] = Int((Date().timeIntervalSince(started) * 1000).rounded())
            } catch {
                record["error"] = "\(error)"
            }
            try log.append(record)
            progress.advance(failed: record["error"] != nil)
        }
        progress.finish(output: output)
    }
}

/// `--shard K/N`: a deterministic part of the inputs, chosen by a hash of each path (FNV-1a), so
/// every machine splits the same list the same way and adding files does not reshuffle the rest.
struct Shard {
    let index: Int
    let count: Int

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count > 0, (0..<count).contains(index) else {
            throw ValidationError("--shard \(text): expected K/N with 0 ≤ K < N, e.g. --shard 0/4")
        }
        self.init(index: index, count: count)
    }

    func contains(_ path: String) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash % UInt64(count) == UInt64(index)
    }
}

/// The image paths a caption run covers, in a stable order without repeats.
enum CaptionInputs {
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "jpe", "jfif"]

    static func collect(_ arguments: [String]) throws -> [String] {
        var seen = Set<String>()
        var paths: [String] = []
        func add(_ path: String) {
            if seen.insert(URL(fileURLWithPath: path).standardizedFileURL.path).inserted { paths.append(path) }
        }
        for argument in arguments {
            if argument == "-" {
                listed(in: String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)).forEach(add)
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                // Recorded as an error line like any unreadable image, not a reason to stop the batch.
                add(argument)
                continue
            }
            if isDirectory.boolValue {
                try images(inFolder: argument).forEach(add)
            } else if argument.lowercased().hasSuffix(".txt") {
                listed(in: try readTextFile(argument)).forEach(add)
            } else {
                add(argument)
            }
        }
        return paths
    }

    private static func listed(in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    private static func images(inFolder folder: String) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else {
            throw CommandError("\(folder): cannot list this folder")
        }
        var found: [String] = []
        for case let relative as String in enumerator
        where imageExtensions.contains((relative as NSString).pathExtension.lowercased()) {
            found.append((folder as NSString).appendingPathComponent(relative))
        }
        return found.sorted()
    }
}

/// The output file: read back on start (what is done), repaired if an interrupted run left half a
/// line, then appended to one whole line per write, flushed to disk before the next image, under
/// an exclusive lock so two processes never interleave in one file.
final class CaptionLog {
    private let url: URL
    private let descriptor: Int32
    private var captioned = Set<String>()
    private var failed = Set<String>()
    /// Bytes of an unfinished last line removed on opening, if any.
    private(set) var repairedBytes: Int?

    init(_ url: URL) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CommandError("--output \(url.path) is a folder; give a file name such as captions.jsonl")
        }
        descriptor = open(url.path, O_RDWR | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw CommandError("--output \(url.path): cannot open (\(String(cString: strerror(errno))))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw CommandError("--output \(url.path): another vqa caption is writing this file; give each process its own --output")
        }
        do { try readExisting() } catch {
            close(descriptor)
            throw error
        }
    }

    private func readExisting() throws {
        let data = try Data(contentsOf: url)
        var content = data
        if let last = data.last, last != UInt8(ascii: "\n") {
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            guard ftruncate(descriptor, off_t(keep)) == 0 else {
                throw CommandError("--output \(url.path): cannot remove the unfinished last line (\(String(cString: strerror(errno))))")
            }
            repairedBytes = data.count - keep
            content = data.prefix(keep)
        }
        for (number, line) in content.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any], let path = object["path"] as? String else {
                throw CommandError("--output \(url.path): line \(number + 1) is not a caption record; is this the right file? (it is left untouched)")
            }
            if object["caption"] != nil { captioned.insert(path); failed.remove(path) } else { failed.insert(path) }
        }
    }

    func isDone(_ path: String, retryingErrors: Bool) -> Bool {
        captioned.contains(path) || (!retryingErrors && failed.contains(path))
    }

    func append(_ record: [String: Any]) throws {
        var line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            throw CommandError("--output \(url.path): cannot write (\(String(cString: strerror(errno)))); is the disk full?")
        }
    }

    func closeFile() {
        _ = close(descriptor)
    }
}

/// "[#####.....] 40% 400/1000 images, 2.1/s, ETA 4m45s, 3 errors" on a terminal; a plain line
/// each whole percent otherwise.
final class BatchProgress {
    private let total: Int
    private let line: ProgressLine
    private let started = Date()
    private var done = 0
    private var errors = 0
    private var lastPercent = -1

    init(total: Int, line: ProgressLine) {
        self.total = total
        self.line = line
    }

    func advance(failed: Bool) {
        done += 1
        if failed { errors += 1 }
        let elapsed = Date().timeIntervalSince(started)
        let rate = Double(done) / max(elapsed, 1e-9)
        let text = String(format: "%@ %d/%d images, %.2f/s, ETA %@%@", ProgressLine.bar(Double(done) / Double(total)), done, total, rate,
                          ProgressLine.duration(Double(total - done) / rate), errors > 0 ? ", \(errors) error\(errors == 1 ? "" : "s")" : "")
        if line.interactive {
            line.update(text)
        } else if done * 100 / total != lastPercent {
            lastPercent = done * 100 / total
            line.print(text)
        }
    }

    func finish(output: String) {
        line.print(String(format: "captioned %d images (%d errors) in %@ into %@", done - errors, errors,
                          ProgressLine.duration(Date().timeIntervalSince(started)), output))
    }
}
