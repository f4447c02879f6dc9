import Foundation
import ImageCodec
import ModelFamilies
import Tensors
import Testing
import TestSupport

let processorExpectations = ProcessorExpectations.fixture

@Suite struct Idefics3ProcessorTests {
    @Test(arguments: processorExpectations.cases)
    func matchesTransformers(_ expected: ProcessorExpectations.Case) throws {
        let directory = try ModelDirectory(Fixtures.url("processor/models/" + expected.model))
        var config = try Idefics3ProcessorConfig.load(from: directory).image
        config.doImageSplitting = expected.split
        let processor = Idefics3ImageProcessor(config: config)
        let processed = try expected.images.map { name in
            processor.process(try ImageDecoder.decode(contentsOf: Fixtures.url("processor/images/" + name)))
        }
        #expect(processed.map(\.rows) == expected.rows)
        #expect(processed.map(\.cols) == expected.cols)
        let pixelValues = processor.pixelValues(processed)
        #expect(pixelValues.shape == expected.shape)
        let ours = try processorExpectations.levels(of: pixelValues)
        let frameSize = ours.count / max(expected.shape[0], 1)
        let sums = (0..<expected.shape[0]).map { frame in
            ours[(frame * frameSize)..<((frame + 1) * frameSize)].reduce(0) { $0 + Int($1) }
        }
        #expect(sums == expected.frame_level_sums)
        #expect(ProcessorExpectations.checksum(ours) == expected.levels_checksum)
        if let frames = expected.frames {
            // Stored as frames stacked vertically, channels last.
            let stacked = try ImageDecoder.decode(contentsOf: Fixtures.url("processor/expected/" + frames))
            let (n, h, w) = (expected.shape[0], expected.shape[2], expected.shape[3])
            var reference = [UInt8](repeating: 0, count: stacked.pixels.count)
            for f in 0..<n { for c in 0..<3 { for y in 0..<h { for x in 0..<w {
                reference[((f * 3 + c) * h + y) * w + x] = stacked.pixels[((f * h + y) * w + x) * 3 + c]
            } } } }
            let comparison = ByteComparison(ours, reference)
            #expect(comparison.maxDifference <= 1, "\(comparison)")
        }
    }

    /// Both layouts of the Hub give the same settings: transformers 4.x's flat
    /// preprocessor_config.json and 5.x's processor_config.json with `image_processor` nested.
    @Test func readsBothConfigLayouts() throws {
        let flat = try Idefics3ProcessorConfig.load(from: ModelDirectory(Fixtures.url("processor/models/smolvlm")))
        let nested = try Idefics3ProcessorConfig.load(from: ModelDirectory(Fixtures.url("processor/models/smolvlm-transformers5")))
        #expect(flat == nested)
        #expect(flat.imageSequenceLength == 64)
        #expect(flat.image.size == .longestEdge(2048) && flat.image.maxImageSize == 512)
        #expect(flat.image.resample == .lanczos && flat.image.doImageSplitting)
    }
}

@Suite struct ProcessorConfigErrorTests {
    func folder(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return url
    }

    func loadError(_ files: [String: String]) throws -> ConfigError {
        let url = try folder(files)
        defer { try? FileManager.default.removeItem(at: url) }
        return try #require(throws: ConfigError.self) { try Idefics3ProcessorConfig.load(from: ModelDirectory(url)) }
    }

    @Test func missingFiles() throws {
        let error = try loadError([:])
        #expect(error.description.contains("preprocessor_config.json"))
    }

    @Test func notJSON() throws {
        let error = try loadError(["preprocessor_config.json": "{ size: 2048"])
        #expect(error.file.hasSuffix("preprocessor_config.json") && error.reason.contains("not valid JSON"))
    }

    @Test func wrongType() throws {
        let error = try loadError(["preprocessor_config.json": #"{"size": {"longest_edge": "big"}}"#])
        #expect(error.reason.contains("size") && error.reason.contains("longest_edge"))
    }

    /// Sizes past transformers' 4096 cap would only allocate gigabyte frames: refused when read.
    @Test func hugeSizesAreRefused() throws {
        for (json, field) in [(#"{"size": {"height": 100000, "width": 100000}}"#, "size"),
                              (#"{"size": {"longest_edge": 1000000000000000}}"#, "size"),
                              (#"{"max_image_size": {"longest_edge": 100000}}"#, "max_image_size")] {
            let error = try loadError(["preprocessor_config.json": json])
            #expect(error.reason.contains(field) && error.reason.contains("1...4096"), "\(error)")
        }
    }

    @Test func unsupportedResample() throws {
        let error = try loadError(["preprocessor_config.json": #"{"resample": 0}"#])
        #expect(error.reason.contains("resample") && error.reason.contains("not supported"))
    }

    @Test func meanNeedsThreeChannels() throws {
        let error = try loadError(["preprocessor_config.json": #"{"image_mean": [0.5, 0.5]}"#])
        #expect(error.reason.contains("image_mean"))
    }

    @Test func badSequenceLength() throws {
        let error = try loadError(["preprocessor_config.json": "{}", "processor_config.json": #"{"image_seq_len": -1}"#])
        #expect(error.file.hasSuffix("processor_config.json") && error.reason.contains("image_seq_len"))
    }

    @Test func notAFolder() throws {
        let error = try #require(throws: ConfigError.self) { try ModelDirectory(Fixtures.url("processor/images/tiny-20x20.png")) }
        #expect(error.reason.contains("not a folder"))
    }
}
