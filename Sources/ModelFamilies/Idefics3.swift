import Foundation
import ImageCodec
import ImageOps
import ModelFormats
import Tensors

// Idefics3 / SmolVLM (model_type "idefics3", "smolvlm"): SigLIP vision tower, pixel-shuffle
// connector, Llama decoder. This file holds what is specific to the family; the blocks it
// composes live in their own modules.

/// The image processor settings of an Idefics3/SmolVLM checkpoint, as transformers'
/// `Idefics3ImageProcessor` / `SmolVLMImageProcessor` read them (same keys, same defaults).
public struct Idefics3ImageProcessorConfig: Decodable, Sendable, Equatable {
    /// The largest `size` and `max_image_size` accepted: transformers caps every resized side at
    /// 4096 anyway (`MAX_IMAGE_SIZE`), published processors stay far below, and a larger one
    /// would only allocate frames of gigabytes.
    static let largestSide = Idefics3ImageProcessor.maxResizedSide

    /// `size`: `{"longest_edge": n}` or `{"height": h, "width": w}`.
    public enum Size: Sendable, Equatable {
        case longestEdge(Int)
        case exact(height: Int, width: Int)
    }

    public var doResize = true
    public var size = Size.longestEdge(4 * 364)
    /// `max_image_size.longest_edge`: the side of every tile and of the global view.
    public var maxImageSize = 364
    public var resample = ResamplingFilter.lanczos
    public var doRescale = true
    public var rescaleFactor = 1.0 / 255.0
    public var doNormalize = true
    public var imageMean: [Float] = [0.5, 0.5, 0.5]
    public var imageStd: [Float] = [0.5, 0.5, 0.5]
    public var doConvertRGB = true
    public var doImageSplitting = true
    public var doPad = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case doResize = "do_resize", size, maxImageSize = "max_image_size", resample
        case doRescale = "do_rescale", rescaleFactor = "rescale_factor", doNormalize = "do_normalize"
        case imageMean = "image_mean", imageStd = "image_std", doConvertRGB = "do_convert_rgb"
        case doImageSplitting = "do_image_splitting", doPad = "do_pad"
    }

    private struct SizeDictionary: Decodable {
        var longest_edge: Int?
        var height: Int?
        var width: Int?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func invalid(_ key: CodingKeys, _ reason: String) -> DecodingError {
            .dataCorruptedError(forKey: key, in: c, debugDescription: reason)
        }
        doResize = try c.decodeIfPresent(Bool.self, forKey: .doResize) ?? doResize
        if let dictionary = try c.decodeIfPresent(SizeDictionary.self, forKey: .size) {
            if let edge = dictionary.longest_edge {
                guard (1...Self.largestSide).contains(edge) else { throw invalid(.size, "longest_edge must be in 1...\(Self.largestSide), got \(edge)") }
                size = .longestEdge(edge)
            } else if let height = dictionary.height, let width = dictionary.width {
                guard (1...Self.largestSide).contains(height), (1...Self.largestSide).contains(width) else {
                    throw invalid(.size, "height and width must be in 1...\(Self.largestSide), got \(height) × \(width)")
                }
                size = .exact(height: height, width: width)
            } else {
                throw invalid(.size, "expected {\"longest_edge\": n} or {\"height\": h, \"width\": w}")
            }
        }
        if let dictionary = try c.decodeIfPresent(SizeDictionary.self, forKey: .maxImageSize) {
            guard let edge = dictionary.longest_edge, (1...Self.largestSide).contains(edge) else {
                throw invalid(.maxImageSize, "expected {\"longest_edge\": n} with n in 1...\(Self.largestSide)")
            }
            maxImageSize = edge
        }
        if let value = try c.decodeIfPresent(Int.self, forKey: .resample) {
            guard let filter = ResamplingFilter(rawValue: value) else {
                throw invalid(.resample, "PIL filter \(value) is not supported (supported: "
                    + ResamplingFilter.allCases.map { "\($0.rawValue) \($0)" }.joined(separator: ", ") + ")")
            }
            resample = filter
        }
        doRescale = try c.decodeIfPresent(Bool.self, forKey: .doRescale) ?? doRescale
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? rescaleFactor
        doNormalize = try c.decodeIfPresent(Bool.self, forKey: .doNormalize) ?? doNormalize
        for (key, path) in [(CodingKeys.imageMean, \Self.imageMean), (.imageStd, \Self.imageStd)] {
            guard let values = try Self.decodeChannels(c, key) else { continue }
            guard values.count == 3 else { throw invalid(key, "expected 3 values (R, G, B), got \(values.count)") }
            self[keyPath: path] = values
        }
        guard !imageStd.contains(0) else { throw invalid(.imageStd, "a standard deviation of 0 divides by zero") }
        doConvertRGB = try c.decodeIfPresent(Bool.self, forKey: .doConvertRGB) ?? doConvertRGB
        doImageSplitting = try c.decodeIfPresent(Bool.self, forKey: .doImageSplitting) ?? doImageSplitting
        doPad = try c.decodeIfPresent(Bool.self, forKey: .doPad) ?? doPad
    }

    /// transformers accepts one number for all channels or one per channel.
    private static func decodeChannels(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Float]? {
        if let single = try? c.decodeIfPresent(Float.self, forKey: key) { return [single, single, single] }
        return try c.decodeIfPresent([Float].self, forKey: key)
    }

    var normalization: PixelNormalization {
        PixelNormalization(rescaleFactor: doRescale ? rescaleFactor : nil,
                           mean: doNormalize ? imageMean : nil, std: doNormalize ? imageStd : nil)
    }
}

/// The processor settings of a model folder, from either layout the Hub has:
/// transformers 4.x writes a flat `preprocessor_config.json` and a small `processor_config.json`
/// (`image_seq_len`); transformers 5.x nests the image settings in `processor_config.json`
/// under `image_processor`.
public struct Idefics3ProcessorConfig: Sendable, Equatable {
    public var image: Idefics3ImageProcessorConfig
    /// Number of `<image>` tokens per frame, when the folder states it.
    public var imageSequenceLength: Int?

    public init(image: Idefics3ImageProcessorConfig, imageSequenceLength: Int?) {
        self.image = image
        self.imageSequenceLength = imageSequenceLength
    }

    public static func load(from directory: ModelDirectory) throws(ConfigError) -> Idefics3ProcessorConfig {
        let processorFile = "processor_config.json", preprocessorFile = "preprocessor_config.json"
        let processor = try directory.jsonObject(processorFile)
        let image: Idefics3ImageProcessorConfig
        if let nested = processor?["image_processor"] {
            guard let nested = nested as? [String: Any] else {
                throw ConfigError(file: directory.url.appendingPathComponent(processorFile).path,
                                  reason: "field 'image_processor' must be an object")
            }
            image = try directory.decode(Idefics3ImageProcessorConfig.self, from: nested, file: processorFile)
        } else if let flat = try directory.jsonObject(preprocessorFile) {
            image = try directory.decode(Idefics3ImageProcessorConfig.self, from: flat, file: preprocessorFile)
        } else {
            throw ConfigError(file: directory.url.path,
                              reason: "no image processor settings: expected \(preprocessorFile), or \(processorFile) with an 'image_processor' object")
        }
        var sequenceLength: Int?
        if let value = processor?["image_seq_len"] {
            guard let number = value as? Int, number > 0 else {
                throw ConfigError(file: directory.url.appendingPathComponent(processorFile).path,
                                  reason: "field 'image_seq_len' must be a positive integer")
            }
            sequenceLength = number
        }
        return Idefics3ProcessorConfig(image: image, imageSequenceLength: sequenceLength)
    }
}

/// One image after processing: its frames (tiles row-major, then the global view) and the tile grid.
public struct Idefics3ProcessedImage: Sendable {
    public let frames: [Image]
    /// Tile rows and columns; both 0 when the image is a single frame (no split).
    public let rows: Int
    public let cols: Int
}

/// What transformers' `SmolVLMImageProcessorPil` / `Idefics3ImageProcessorPil` compute, step for step.
public struct Idefics3ImageProcessor: Sendable {
    /// transformers' `MAX_IMAGE_SIZE`: no side grows past 4096 after the first resize.
    static let maxResizedSide = 4096

    public let config: Idefics3ImageProcessorConfig

    public init(config: Idefics3ImageProcessorConfig) {
        self.config = config
    }

    public func process(_ image: Image) -> Idefics3ProcessedImage {
        // RGBA over white first (do_convert_rgb); with it off, transformers would hand 4 channels
        // to a 3-channel model, so the alpha is composited either way.
        var image = image.compositedOverWhite()
        if config.doResize {
            let (height, width) = resizedSize(height: image.height, width: image.width)
            image = image.resized(width: width, height: height, filter: config.resample)
        }
        let side = config.maxImageSize
        guard config.doImageSplitting else {
            return Idefics3ProcessedImage(frames: [image.resized(width: side, height: side, filter: config.resample)], rows: 0, cols: 0)
        }
        let (height, width) = tiledSize(height: image.height, width: image.width)
        image = image.resized(width: width, height: height, filter: config.resample)
        guard image.height > side || image.width > side else {
            return Idefics3ProcessedImage(frames: [image], rows: 0, cols: 0)
        }
        let rows = (image.height - side) / side + 1
        let cols = (image.width - side) / side + 1
        var frames: [Image] = []
        for row in 0..<rows {
            for col in 0..<cols {
                frames.append(image.cropped(x: col * side, y: row * side, width: side, height: side))
            }
        }
        frames.append(image.resized(width: side, height: side, filter: config.resample))
        return Idefics3ProcessedImage(frames: frames, rows: rows, cols: cols)
    }

    /// `process(_:)` within a budget of `maxTiles` tiles per image (see `limitingTiles(to:for:)`).
    public func process(_ image: Image, maxTiles: Int?) -> Idefics3ProcessedImage {
        guard let maxTiles else { return process(image) }
        return Idefics3ImageProcessor(config: limitingTiles(to: maxTiles, for: image)).process(image)
    }

    /// The configuration that keeps `image` within `maxTiles` tiles (plus the global view): the
    /// largest `size.longest_edge`, in multiples of the tile side and no larger than configured,
    /// whose grid has at most that many tiles. Passing `size={"longest_edge": ...}` to
    /// transformers' processor gives the same pixels; it is how SmolVLM's card trades detail for speed.
    public func limitingTiles(to maxTiles: Int, for image: Image) -> Idefics3ImageProcessorConfig {
        guard config.doImageSplitting, config.doResize, case .longestEdge(let edge) = config.size else { return config }
        var limited = config
        var multiple = max(1, edge / config.maxImageSize)
        while multiple > 1 {
            limited.size = .longestEdge(min(edge, multiple * config.maxImageSize))
            let resized = Idefics3ImageProcessor(config: limited).resizedSize(height: image.height, width: image.width)
            let tiled = Idefics3ImageProcessor(config: limited).tiledSize(height: resized.height, width: resized.width)
            let tiles = tiled.height / config.maxImageSize * (tiled.width / config.maxImageSize)
            if tiles <= maxTiles || tiles == 1 { return limited }
            multiple -= 1
        }
        limited.size = .longestEdge(min(edge, config.maxImageSize))
        return limited
    }

    /// The float32 `pixel_values` for the frames of `images` (one prompt), N × 3 × H × W. Frames
    /// of different sizes (possible only when `size.longest_edge` < `max_image_size`) are padded
    /// with zeros to the largest, as `do_pad` does; a tensor needs one size even when it is off.
    public func pixelValues(_ images: [Idefics3ProcessedImage]) -> Tensor {
        config.normalization.pixelValues(images.flatMap(\.frames))
    }

    /// Step 1 (`get_resize_output_image_size`): scale the longest edge to `size.longest_edge`,
    /// the other side truncated and then rounded up to even; then cap both at 4096.
    func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let maxLength: Int
        switch config.size {
        case .exact(let height, let width): return (height, width)
        case .longestEdge(let edge): maxLength = edge
        }
        var (h, w) = (height, width)
        let aspect = Double(w) / Double(h)
        if w >= h {
            w = maxLength
            h = Int(Double(w) / aspect)
            if h % 2 != 0 { h += 1 }
        } else {
            h = maxLength
            w = Int(Double(h) * aspect)
            if w % 2 != 0 { w += 1 }
        }
        (h, w) = (max(h, 1), max(w, 1))
        let capAspect = Double(w) / Double(h)
        if w >= h && w > Self.maxResizedSide {
            w = Self.maxResizedSide
            h = Int(Double(w) / capAspect)
        } else if h > w && h > Self.maxResizedSide {
            h = Self.maxResizedSide
            w = Int(Double(h) * capAspect)
        }
        return (max(h, 1), max(w, 1))
    }

    /// Step 2 (`resize_for_vision_encoder`): round the longer side up to a multiple of the tile
    /// side, derive the other from the aspect ratio, and round it up to a multiple too.
    func tiledSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let side = Double(config.maxImageSize)
        let aspect = Double(width) / Double(height)
        // max(1, ·): float rounding could make the derived side 0 for extreme aspect ratios.
        func roundUp(_ value: Double) -> Int { max(1, Int((value / side).rounded(.up))) * config.maxImageSize }
        if width >= height {
            let w = roundUp(Double(width))
            return (roundUp(Double(Int(Double(w) / aspect))), w)
        } else {
            let h = roundUp(Double(height))
            return (h, roundUp(Double(Int(Double(h) * aspect))))
        }
    }
}

/// `config.json` of an Idefics3/SmolVLM checkpoint (`model_type` "idefics3" or "smolvlm").
public struct Idefics3Config: Sendable, Equatable {
    public var vision: VisionConfig
    public var text: LlamaConfig
    public var scaleFactor: Int
    public var imageTokenID: Int

    public static let modelTypes = ["idefics3", "smolvlm"]

    public static func load(from directory: ModelDirectory) throws(ConfigError) -> Idefics3Config {
        let file = directory.url.appendingPathComponent("config.json").path
        guard let root = try directory.jsonObject("config.json") else {
            throw ConfigError(file: file, reason: "missing; is this a HuggingFace model folder?")
        }
        let type = root["model_type"] as? String ?? "(none)"
        guard modelTypes.contains(type) else {
            throw ConfigError(file: file, reason: "model_type '\(type)' is not supported (supported: \(modelTypes.joined(separator: ", ")))")
        }
        guard let visionObject = root["vision_config"] as? [String: Any] else {
            throw ConfigError(file: file, reason: "missing field 'vision_config'")
        }
        let vision = try directory.decode(VisionConfig.self, from: visionObject, file: "config.json")
        let text = try LlamaConfig.load(from: directory)
        let scale = root["scale_factor"] as? Int ?? 2
        guard scale > 0, vision.patchesPerSide % scale == 0 else {
            throw ConfigError(file: file, reason: "scale_factor \(scale) must divide the \(vision.patchesPerSide) patches per side")
        }
        let imageToken = root["image_token_id"] as? Int ?? (root["text_config"] as? [String: Any])?["image_token_id"] as? Int ?? 128257
        return Idefics3Config(vision: vision, text: text, scaleFactor: scale, imageTokenID: imageToken)
    }

    /// `<image>` tokens per frame: (patches per side / scale factor)².
    public var imageSequenceLength: Int {
        let side = vision.patchesPerSide / scaleFactor
        return side * side
    }
}

/// The prompt text of each image, as the processor expands an `<image>` placeholder: per tile
/// `<fake_token_around_image><row_r_col_c>` and the frame's `<image>` tokens (a newline after
/// each row of tiles), then the global view between `<fake_token_around_image><global-img>` and
/// `<fake_token_around_image>`.
public func idefics3ImagePrompt(rows: Int, cols: Int, imageSequenceLength: Int) -> String {
    let frame = String(repeating: "<image>", count: imageSequenceLength)
    let global = "<fake_token_around_image><global-img>" + frame + "<fake_token_around_image>"
    guard rows > 0 && cols > 0 else { return global }
    var text = ""
    for row in 1...rows {
        for col in 1...cols { text += "<fake_token_around_image><row_\(row)_col_\(col)>" + frame }
        text += "\n"
    }
    return text + "\n" + global
}

/// Idefics3ForConditionalGeneration / SmolVLMForConditionalGeneration: the SigLIP tower, the
/// pixel-shuffle connector and the Llama decoder, composed.
public final class Idefics3Model: CausalLanguageModel {
    public let config: Idefics3Config
    public let vision: SigLIPVisionEncoder
    public let connector: PixelShuffleConnector
    public let decoder: LlamaDecoder
    public let cacheFormat: KVCacheFormat

    /// Loads config.json and the weights of a model folder (Idefics3 and SmolVLM layouts alike:
    /// `model.vision_model.*`, `model.connector.*`, `model.text_model.*`, `lm_head.weight`).
    /// `weightFormat` is how the language model's matrices are held; the vision tower's are
    /// float32 with float32 and bfloat16 otherwise. `cacheFormat` is how its KV caches hold keys and values.
    public init(folder: URL, weightFormat: WeightFormat = .float32, cacheFormat: KVCacheFormat = .float32) throws {
        self.cacheFormat = cacheFormat
        let directory = try ModelDirectory(folder)
        config = try Idefics3Config.load(from: directory)
        let checkpoint = try SafetensorsCheckpoint(folder: folder)
        var used: Set<String> = []
        // The vision tower's products all run as large matrix products, where 8-bit weights
        // would only cost precision: it is held in bfloat16 whenever the language model is not float32.
        vision = try SigLIPVisionEncoder(config: config.vision, checkpoint: checkpoint, prefix: "model.vision_model.",
                                         weightFormat: weightFormat == .float32 ? .float32 : .bfloat16, used: &used)
        connector = try PixelShuffleConnector(scaleFactor: config.scaleFactor, visionHidden: config.vision.hiddenSize,
                                              textHidden: config.text.hiddenSize, checkpoint: checkpoint,
                                              name: "model.connector.modality_projection.proj.weight", used: &used)
        decoder = try LlamaDecoder(config: config.text, checkpoint: checkpoint, prefix: "model.text_model.", lmHead: "lm_head.weight",
                                   weightFormat: weightFormat, used: &used)
        try checkUnexpected(checkpoint, used: used, folder: folder)
    }

    public var vocabularySize: Int { config.text.vocabSize }
    public var contextLength: Int { config.text.maxPositionEmbeddings }
    public func makeCache() -> KVCache { decoder.makeCache(format: cacheFormat) }

    public func logits(after tokens: [Int], cache: inout KVCache) -> [Float] {
        decoder.forward(embeddings: decoder.embed(tokens), cache: &cache)
    }

    /// The decoder-width features of each frame of `pixelValues` (frames × 3 × size × size):
    /// frames × imageSequenceLength × textHidden, frames in order.
    public func imageFeatures(_ pixelValues: Tensor) throws(ConfigError) -> [Float] {
        let size = config.vision.imageSize
        guard pixelValues.shape.count == 4, pixelValues.shape[1] == 3, pixelValues.shape[2] == size, pixelValues.shape[3] == size else {
            throw ConfigError(file: "preprocessor_config.json",
                              reason: "frames are \(pixelValues.shape.dropFirst().map(String.init).joined(separator: "×")) but the vision tower takes 3×\(size)×\(size); max_image_size must equal vision_config.image_size")
        }
        // A few frames per pass: the matrix products stay large (2 × 1024 patch rows for
        // SigLIP-B/16 at 512 px, split over the threads by rows) while the activations of a
        // 17-frame image are not all alive at once. Two frames rather than four took the peak of a
        // 13-frame question with bf16 weights from 739 to 684 MB at the same speed per frame.
        let frameSize = 3 * size * size
        let frames = pixelValues.shape[0]
        var features: [Float] = []
        for first in stride(from: 0, to: frames, by: Self.framesPerVisionPass) {
            let last = min(first + Self.framesPerVisionPass, frames)
            features += pixelValues.scalars.withUnsafeBufferPointer { all in
                connector(vision.encode(frames: UnsafeBufferPointer(rebasing: all[(first * frameSize)..<(last * frameSize)])),
                          side: config.vision.patchesPerSide)
            }
        }
        return features
    }

    /// Frames encoded together by `imageFeatures`.
    static let framesPerVisionPass = 2

    /// Runs the prompt with the rows of `<image>` tokens replaced, in order, by `imageFeatures`;
    /// returns the logits after the last token. When `cache` already holds `tokens[0..<start]`
    /// (an earlier turn of a chat), only the rest is run; `imageFeatures` still covers every
    /// image token of `tokens`.
    public func prefill(tokens: [Int], from start: Int = 0, imageFeatures: [Float], cache: inout KVCache) throws(ConfigError) -> [Float] {
        let hidden = config.text.hiddenSize
        precondition(start == cache.count && start < tokens.count, "the cache must hold exactly the first \(start) tokens")
        let positions = tokens.indices.filter { tokens[$0] == config.imageTokenID }
        guard positions.count * hidden == imageFeatures.count else {
            throw ConfigError(file: "prompt", reason: "the prompt has \(positions.count) image tokens but the images give \(imageFeatures.count / hidden)")
        }
        var embeddings = decoder.embed(Array(tokens[start...]))
        for (index, position) in positions.enumerated() where position >= start {
            let row = position - start
            embeddings.replaceSubrange((row * hidden)..<((row + 1) * hidden),
                                       with: imageFeatures[(index * hidden)..<((index + 1) * hidden)])
        }
        return decoder.forward(embeddings: embeddings, cache: &cache)
    }
}
