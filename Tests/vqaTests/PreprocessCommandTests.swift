import Foundation
import Tensors
import Testing
import TestSupport

@Suite(.serialized) struct PreprocessCommandTests {
    let model = Fixtures.url("processor/models/smolvlm").path
    let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("vqa-tests-\(UUID())")

    init() throws {
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    }

    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: VQAProcess.binary.path), "\(VQAProcess.binary.path)")
    }

    /// The README's command: the sample chart becomes 3 × 4 tiles and a global view, and the
    /// .npy holds exactly what transformers computes for it.
    @Test func readmeCommandWritesExactPixelValues() throws {
        let output = temporary.appendingPathComponent("pixel_values.npy")
        let result = try VQAProcess.run(["preprocess", "--model", model, "Assets/chart.png", "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Assets/chart.png: 640×480 → 13 frames (3 rows × 4 cols of 512×512 tiles + global view)"))
        let (dtype, tensor) = try NPY.read(output)
        #expect(dtype == .float32 && tensor.shape == [13, 3, 512, 512])
        let expectations = ProcessorExpectations.fixture
        let expected = try #require(expectations.firstCase(model: "smolvlm", images: ["landscape-chart.png"], split: true))
        #expect(ProcessorExpectations.checksum(try expectations.levels(of: tensor)) == expected.levels_checksum)
    }

    @Test func noSplittingAndSeveralImages() throws {
        let output = temporary.appendingPathComponent("two.npy")
        let result = try VQAProcess.run(["preprocess", "--model", model, "--no-image-splitting",
                                         "Assets/chart.png", "Tests/Fixtures/jpeg/orientation-6.jpg", "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("orientation-6.jpg: 227×149 → 1 frames (1 frame of 512×512, not split)"))
        #expect(try NPY.read(output).tensor.shape == [2, 3, 512, 512])
    }

    @Test func badImageIsANamedErrorWithNonZeroExit() throws {
        let result = try VQAProcess.run(["preprocess", "--model", model, "Tests/Fixtures/pngsuite/xs1n0g01.png"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("xs1n0g01.png") && result.stderr.contains("not a PNG or JPEG"))
        let missing = try VQAProcess.run(["preprocess", "--model", model, "no-such.jpg"])
        #expect(missing.status != 0 && missing.stderr.contains("no-such.jpg: cannot read the file (no such file)"))
    }

    @Test func missingModelFolder() throws {
        let result = try VQAProcess.run(["preprocess", "--model", "/nonexistent/model", "Assets/chart.png"])
        #expect(result.status != 0 && result.stderr.contains("/nonexistent/model: no such model folder"))
    }

    /// An existing file is never replaced unless asked.
    @Test func refusesToOverwrite() throws {
        let output = temporary.appendingPathComponent("keep.npy")
        try Data("precious".utf8).write(to: output)
        let refused = try VQAProcess.run(["preprocess", "--model", model, "Assets/chart.png", "--no-image-splitting", "--output", output.path])
        #expect(refused.status != 0 && refused.stderr.contains("--overwrite"))
        #expect(try Data(contentsOf: output) == Data("precious".utf8))
        let replaced = try VQAProcess.run(["preprocess", "--model", model, "Assets/chart.png", "--no-image-splitting",
                                           "--output", output.path, "--overwrite"])
        #expect(replaced.status == 0)
        #expect(try NPY.read(output).tensor.shape == [1, 3, 512, 512])
    }
}
