import Foundation
import Testing
import TestSupport

/// `vqa caption` on real files with the tiny fixture model: inputs, errors, resume, shards, kills.
@Suite(.serialized) struct CaptionCommandTests {
    let model = Fixtures.url("smolvlm/idefics3-f32").path
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("caption-tests-\(UUID())")

    init() throws {
        let photos = folder.appendingPathComponent("photos/nested")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.repository.appendingPathComponent("Assets/chart.png"),
                                         to: folder.appendingPathComponent("photos/chart.png"))
        for name in ["cmyk.jpg", "grayscale.jpg"] {
            try FileManager.default.copyItem(at: Fixtures.url("jpeg/\(name)"), to: photos.appendingPathComponent(name))
        }
        try Data("not an image".utf8).write(to: photos.appendingPathComponent("broken.jpg"))
        try Data("ignored: folders only yield image extensions".utf8).write(to: photos.appendingPathComponent("notes.md"))
    }

    func caption(_ arguments: [String], input: String? = nil) throws -> VQAProcess.Result {
        try VQAProcess.run(["caption", "--model", model, "--no-image-splitting", "--max-tokens", "2"] + arguments, input: input)
    }

    func records(_ file: URL) throws -> [[String: Any]] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
            try #require((try JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])
        }
    }

    @Test func captionsFoldersListsAndStdinRecordsErrorsAndResumes() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("captions.jsonl")
        let list = folder.appendingPathComponent("list.txt")
        let chart = folder.appendingPathComponent("photos/chart.png").path
        try Data("# a list\n\(chart)\n\(folder.path)/missing.png\n".utf8).write(to: list)
        let first = try caption([folder.appendingPathComponent("photos").path, list.path, "-", "--output", output.path],
                                input: "\(folder.path)/photos/nested/cmyk.jpg\n")
        #expect(first.status == 0, "\(first.stderr)")
        let lines = try records(output)
        let paths = lines.map { $0["path"] as! String }
        // Folder (sorted, recursive, images only), then the list; repeats dropped.
        #expect(paths == ["chart.png", "nested/broken.jpg", "nested/cmyk.jpg", "nested/grayscale.jpg"].map { "\(folder.path)/photos/\($0)" }
                + ["\(folder.path)/missing.png"])
        let captioned = lines.filter { $0["caption"] != nil }
        #expect(captioned.count == 3)
        for record in captioned {
            #expect((record["caption"] as? String)?.isEmpty == false)
            #expect(record["completion_tokens"] as? Int == 2)
            #expect((record["prompt_tokens"] as? Int ?? 0) > 0)
            #expect(record["milliseconds"] is Int)
        }
        let errors = lines.filter { $0["error"] != nil }
        #expect(errors.count == 2)
        #expect((errors[0]["error"] as? String)?.contains("broken.jpg") == true)
        #expect((errors[1]["error"] as? String)?.contains("missing.png") == true)

        // The caption equals what `vqa` answers for the same image and prompt.
        let single = try VQAProcess.run(["--model", model, "--no-image-splitting", "--max-tokens", "2", chart, "Describe this image in one sentence."])
        #expect(captioned[0]["caption"] as? String == single.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        let again = try caption([folder.appendingPathComponent("photos").path, list.path, "--output", output.path])
        #expect(again.status == 0)
        #expect(again.stderr.contains("5 already in"))
        #expect(try records(output).count == 5, "nothing is captioned twice")

        let retry = try caption([folder.appendingPathComponent("photos").path, list.path, "--output", output.path, "--retry-errors"])
        #expect(retry.stderr.contains("2 to caption"))
        #expect(try records(output).count == 7)
    }

    @Test func repairsAnUnfinishedLineAndRefusesAForeignFile() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("captions.jsonl")
        let chart = folder.appendingPathComponent("photos/chart.png").path
        try Data("{\"path\": \"\(chart)\", \"capt".utf8).write(to: output)
        let repaired = try caption([chart, "--output", output.path])
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(repaired.stderr.contains("unfinished last line"))
        #expect(try records(output).map { $0["path"] as! String } == [chart])

        let foreign = folder.appendingPathComponent("notes.txt")
        let text = "shopping list\nmilk\n"
        try Data(text.utf8).write(to: foreign)
        let refused = try caption([chart, "--output", foreign.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("line 1 is not a caption record"))
        #expect(try String(contentsOf: foreign, encoding: .utf8) == text, "the user's file is untouched")
    }

    @Test func shardsPartitionTheInputs() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = folder.appendingPathComponent("photos").path
        var seen: [String] = []
        for index in 0..<3 {
            let output = folder.appendingPathComponent("part-\(index).jsonl")
            let result = try caption([photos, "--shard", "\(index)/3", "--output", output.path])
            #expect(result.status == 0, "\(result.stderr)")
            seen += (try? records(output))?.map { $0["path"] as! String } ?? []
        }
        #expect(seen.sorted() == ["chart.png", "nested/broken.jpg", "nested/cmyk.jpg", "nested/grayscale.jpg"].map { "\(photos)/\($0)" })
        let bad = try caption([photos, "--shard", "3/3", "--output", folder.appendingPathComponent("x.jsonl").path])
        #expect(bad.status != 0 && bad.stderr.contains("0 ≤ K < N"))
    }

    @Test func aKilledRunLeavesWholeLinesAndResumes() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = folder.appendingPathComponent("photos").path
        let output = folder.appendingPathComponent("captions.jsonl")
        let process = Process()
        process.executableURL = VQAProcess.binary
        process.arguments = ["caption", "--model", model, "--max-tokens", "8", photos, "--output", output.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it as soon as the first record is on disk.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline, ((try? Data(contentsOf: output))?.count ?? 0) == 0 { usleep(5_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let kept = try records(output)
        #expect(!kept.isEmpty)
        let resumed = try caption([photos, "--output", output.path])
        #expect(resumed.status == 0)
        let all = try records(output).map { $0["path"] as! String }
        #expect(all.count == 4 && Set(all).count == 4, "every image once: \(all)")
    }

    @Test func anotherProcessWritingTheSameFileIsRefused() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("captions.jsonl")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let descriptor = open(output.path, O_RDWR)
        defer { close(descriptor) }
        #expect(flock(descriptor, LOCK_EX) == 0)
        let result = try caption([folder.appendingPathComponent("photos/chart.png").path, "--output", output.path])
        #expect(result.status != 0 && result.stderr.contains("another vqa caption is writing this file"))
    }
}
