import Foundation
import HTMLPage
import Testing
import TestSupport

@Suite struct HTMLExtractionTests {
    @Test func fencedBlocksPreferHTMLAndSurviveChatter() throws {
        let answer = """
            Sure! Here is the page:
            ```css
            body { color: red }
            ```
            ```html
            <!DOCTYPE html>
            <html><body><h1>Jobs</h1></body></html>
            ```
            Let me know if you want changes.
            """
        #expect(try HTMLPage.extract(from: answer) == "<!DOCTYPE html>\n<html><body><h1>Jobs</h1></body></html>\n")
        // An untagged fence, and one left open by an answer cut at the token limit.
        #expect(try HTMLPage.extract(from: "```\n<p>Hi</p>\n```") == "<p>Hi</p>\n")
        #expect(try HTMLPage.extract(from: "Here:\n```html\n<html><body><p>cut") == "<html><body><p>cut\n")
    }

    @Test func bareDocumentsAndFragments() throws {
        #expect(try HTMLPage.extract(from: "The page is <!DOCTYPE html><html><body></body></html> as asked.")
                == "<!DOCTYPE html><html><body></body></html>\n")
        #expect(try HTMLPage.extract(from: "ok <HTML><p>x</p></HTML> done") == "<HTML><p>x</p></HTML>\n")
        #expect(try HTMLPage.extract(from: "A header: <h1>Jobs</h1> <button>Reply</button>.")
                == "<!DOCTYPE html>\n<html><body>\n<h1>Jobs</h1> <button>Reply</button>\n</body></html>\n")
    }

    @Test func noHTMLIsAnErrorQuotingTheAnswer() {
        #expect(throws: HTMLPage.Failure.noHTML(answerStart: "I see a drawing of 3 < 4 boxes.")) {
            try HTMLPage.extract(from: "I see a drawing of 3 < 4 boxes.")
        }
    }
}

@Suite struct HTMLWritingTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("html-tests-\(UUID())")

    @Test func writesWholeFilesAndOverwritesOnlyWhenAsked() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("page.html")
        try HTMLPage.write("<p>one</p>\n", to: page, overwrite: false)
        #expect(try String(contentsOf: page, encoding: .utf8) == "<p>one</p>\n")
        #expect(throws: HTMLPage.Failure.exists(path: page.path)) { try HTMLPage.write("<p>two</p>\n", to: page, overwrite: false) }
        #expect(try String(contentsOf: page, encoding: .utf8) == "<p>one</p>\n")
        try HTMLPage.write("<p>two</p>\n", to: page, overwrite: true)
        #expect(try String(contentsOf: page, encoding: .utf8) == "<p>two</p>\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["page.html"], "no temporary file left")
        #expect(throws: HTMLPage.Failure.self) {
            try HTMLPage.write("<p/>", to: folder.appendingPathComponent("no-such-folder/page.html"), overwrite: false)
        }
    }
}

/// The `sketch-to-html` program end to end on the tiny random-weight fixture model, whose
/// answers are not HTML: the pipeline runs through and says so, writing nothing.
@Suite struct SketchToHTMLProgramTests {
    let program = VQAProcess.program("sketch-to-html")
    let model = Fixtures.url("smolvlm/idefics3-f32").path
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sketch-tests-\(UUID())")

    @Test func runsThePipelineAndRefusesToWriteAnAnswerWithoutHTML() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("page.html")
        let result = try VQAProcess.run(["--model", model, "--max-tokens", "8", "Assets/sketch.png", "--output", output.path],
                                        program: program)
        #expect(result.status != 0)
        #expect(result.stderr.contains("contains no HTML"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// With no --model and an empty HuggingFace cache the built-in model draws the page.
    @Test func turnsTheSampleSketchIntoAPageWithTheBuiltinModel() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("page.html")
        let result = try VQAProcess.run(["Assets/sketch.png", "--output", output.path], environment: [
            "HF_HOME": folder.appendingPathComponent("hf").path, "HF_HUB_CACHE": folder.appendingPathComponent("hf/hub").path,
        ], program: program)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("using the built-in model"))
        let page = try String(contentsOf: output, encoding: .utf8)
        // The sketch's layout and words, element for element: the page its generator wrote.
        let drawn = try String(contentsOfFile: "tools/train/samples/sketch.html", encoding: .utf8)
        #expect(page == drawn, "\(page)")
    }

    @Test func refusesExistingOutputsBeforeRunningTheModelAndExplainsMissingChromium() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let existing = folder.appendingPathComponent("page.html")
        try Data("mine".utf8).write(to: existing)
        let refused = try VQAProcess.run(["--model", "/no/such/model", "Assets/sketch.png", "--output", existing.path], program: program)
        #expect(refused.status != 0 && refused.stderr.contains("pass --overwrite"))
        #expect(try String(contentsOf: existing, encoding: .utf8) == "mine")
        #expect(Screenshot.findChromium(environment: ["PATH": folder.path]) == nil)
        #expect(Screenshot.Failure.noChromium.description.contains("apt-get install chromium"))
    }
}

/// The library-API example prints one JSON line per image.
@Suite struct CaptionFolderProgramTests {
    @Test func printsOneLinePerImage() throws {
        let result = try VQAProcess.run([Fixtures.url("smolvlm/idefics3-f32").path, "Assets"], program: VQAProcess.program("caption-folder"))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        let images = try FileManager.default.contentsOfDirectory(atPath: Fixtures.repository.appendingPathComponent("Assets").path)
            .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
        #expect(lines.count == images.count)
        for line in lines {
            let object = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
            #expect(object["caption"] is String)
        }
    }
}
