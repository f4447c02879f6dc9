import Foundation
import Testing
import TestSupport

/// The built-in model (Models/builtin) as a user meets it: the default when no Hub model is
/// cached, `--model builtin`, `--offline`, `vqa models` — the real binary on an empty cache.
@Suite struct BuiltinDefaultTests {
    /// An empty HuggingFace cache, so the default Hub model is certainly not there.
    let environment: [String: String] = {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("empty-hf-\(UUID())")
        return ["HF_HOME": home.path, "HF_HUB_CACHE": home.appendingPathComponent("hub").path, "HF_HUB_OFFLINE": "0"]
    }()

    @Test func defaultModelIsBuiltinAndSaysSo() throws {
        // The README's first command.
        let result = try VQAProcess.run(["Assets/chart.png", "How many bars are there?"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("using the built-in model"))
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5")
    }

    /// The kind of chart is read from the image (Tests/Fixtures/builtin-questions: the first bar,
    /// line and pie chart of tools/train/generate.py's example(5, i, 2, "charts")): one of the
    /// questions the model answers right, see Models/builtin/README.md for the rest.
    @Test(arguments: [("line", "A line chart."), ("pie", "A pie chart."), ("bar", "A bar chart.")])
    func namedBuiltinAndOffline(_ kind: String, answer: String) throws {
        let named = try VQAProcess.run(["--model", "builtin", "--offline", "Tests/Fixtures/builtin-questions/\(kind).png",
                                        "What kind of chart is this?"], environment: environment)
        #expect(named.status == 0, "\(named.stderr)")
        #expect(!named.stderr.contains("using the built-in model"), "no note when the model was asked for")
        #expect(named.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == answer)
    }

    /// Answers read from the image, through the whole pipeline: questions of the kinds the model
    /// gets right most often (Models/builtin/README.md), about the committed images. It gets the
    /// bar chart's tallest label wrong ("egg" for "pie"), so that is not asked; the pie's 3 slices
    /// it counts again (v19 said 2). `Assets/chart.png` is not drawn by the generator (640 x 480,
    /// small labels, values over the bars): v14 counted 8 bars in it; v16 on, which also trained
    /// on free-style charts, count the 5.
    @Test(arguments: [
        ("Tests/Fixtures/builtin-questions/bar.png", "How many bars are there?", "8"),
        ("Tests/Fixtures/builtin-questions/bar.png", "What colour is the tallest bar?", "green"),
        ("Tests/Fixtures/builtin-questions/line.png", "What is the title of this chart?", "Harvest"),
        ("Tests/Fixtures/builtin-questions/line.png", "How many points are on the line?", "5"),
        ("Tests/Fixtures/builtin-questions/pie.png", "How many slices are there?", "3"),
        ("Assets/sketch.png", "What is written in the header?", "Jobs"),
        ("Assets/sketch.png", "How many columns?", "2"),
        ("Assets/sketch.png", "How many images are there?", "2"),
        ("Assets/sketch.png", "What is written on the button?", "Reply"),
        ("Assets/chart.png", "What colour is the tallest bar?", "green"),
    ])
    func answersFromTheImage(_ image: String, question: String, answer: String) throws {
        let result = try VQAProcess.run(["--model", "builtin", "--offline", image, question], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == answer, "\(image): \(question)")
    }

    @Test func offlineRefusesAHubModelThatIsNotCached() throws {
        let hub = try VQAProcess.run(["--offline", "--model", "HuggingFaceTB/SmolVLM-256M-Instruct", "Assets/chart.png", "Hi"],
                                     environment: environment)
        #expect(hub.status != 0)
        #expect(hub.stderr.contains("offline") && hub.stderr.contains("vqa pull"), "\(hub.stderr)")
    }

    @Test func modelsListsBuiltin() throws {
        let result = try VQAProcess.run(["models"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Default: builtin"))
        #expect(result.stdout.contains("builtin  [idefics3, 6.5M]  in /"))
        #expect(result.stdout.contains("HuggingFaceTB/SmolVLM-256M-Instruct  [idefics3, 256M]  not downloaded"))
    }
}
