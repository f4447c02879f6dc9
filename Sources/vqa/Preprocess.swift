import ArgumentParser
import Foundation
import ImageCodec
import ModelFamilies
import Tensors

/// `vqa preprocess`: the exact `pixel_values` a model's vision encoder receives.
struct Preprocess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode and preprocess images exactly as transformers does, and show or save pixel_values.",
        discussion: """
            Reads only the model folder's processor configs (preprocessor_config.json and/or \
            processor_config.json), not its weights. Prints the frame count and tile grid of each \
            image; with --output, writes the float32 pixel_values (N × 3 × H × W) as a NumPy .npy file.
            """)

    @OptionGroup var model: ModelOption

    @OptionGroup var detail: ImageDetailOptions

    @Option(name: .long, help: "Write pixel_values to this .npy file.", completion: .file(extensions: ["npy"]))
    var output: String?

    @Flag(name: .long, help: "Replace the --output file if it exists.")
    var overwrite = false

    @Option(name: .long, help: "Refuse images with more pixels than this (checked before decoding).")
    var maxPixels = DecodingOptions.defaultMaxPixels

    @Argument(help: "PNG or JPEG files.", completion: .file())
    var images: [String]

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        if maxPixels <= 0 { throw ValidationError("--max-pixels must be positive") }
    }

    func run() async throws {
        var config = try Idefics3ProcessorConfig.load(from: ModelDirectory(try await model.folder())).image
        if let splitting = detail.imageSplitting { config.doImageSplitting = splitting }
        let outputURL = output.map { URL(fileURLWithPath: $0) }
        if let outputURL, !overwrite, FileManager.default.fileExists(atPath: outputURL.path) {
            throw CommandError("\(outputURL.path) exists; pass --overwrite to replace it")
        }
        let processor = Idefics3ImageProcessor(config: config)
        var processed: [Idefics3ProcessedImage] = []
        for path in images {
            let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path), options: DecodingOptions(maxPixels: maxPixels))
            let result = processor.process(image, maxTiles: detail.maxTiles)
            processed.append(result)
            let frame = result.frames[0]
            let grid = result.rows > 0
                ? "\(result.rows) rows × \(result.cols) cols of \(frame.width)×\(frame.height) tiles + global view"
                : "1 frame of \(frame.width)×\(frame.height), not split"
            print("\(path): \(image.width)×\(image.height) → \(result.frames.count) frames (\(grid))")
        }
        let pixelValues = processor.pixelValues(processed)
        let shape = pixelValues.shape.map(String.init).joined(separator: ", ")
        if let outputURL {
            try NPY.write(pixelValues, to: outputURL)
            print("pixel_values [\(shape)] float32 written to \(outputURL.path)")
        } else {
            print("pixel_values [\(shape)] float32 (pass --output FILE.npy to save)")
        }
    }
}
