import ArgumentParser
import Foundation
import ModelFamilies
import Runtime
import Tensors

extension WeightFormat: ExpressibleByArgument {}
extension KVCacheFormat: ExpressibleByArgument {}

/// `--weights f32|bf16|q8` and `--kv-cache f32|f16`: how the language model's matrices and its
/// keys and values are held.
struct WeightsOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Language-model weights in memory: f32 (exact, the default), bf16 (half the memory; identical for bfloat16 checkpoints such as SmolVLM's), q8 (8-bit, fastest decoding, approximate).",
        valueName: "f32|bf16|q8"))
    var weights: WeightFormat = .float32

    @Option(name: .customLong("kv-cache"), help: ArgumentHelp(
        "Keys and values of past tokens: f32 (exact, the default) or f16 (half precision: half the cache memory, faster decoding of long contexts, approximate).",
        valueName: "f32|f16"))
    var cache: KVCacheFormat = .float32

    /// The vision-language model in `folder`, held in these formats.
    func loadModel(_ folder: URL) throws -> VisionLanguageModel {
        try VisionLanguageModel(folder: folder, weightFormat: weights, cacheFormat: cache)
    }
}
