import ArgumentParser
import Tensors

extension WeightFormat: ExpressibleByArgument {}

/// `--weights f32|bf16|q8`: how the language model's matrices are held.
struct WeightsOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Language-model weights in memory: f32 (exact, the default), bf16 (half the memory; identical for bfloat16 checkpoints such as SmolVLM's), q8 (8-bit, fastest decoding, approximate).",
        valueName: "f32|bf16|q8"))
    var weights: WeightFormat = .float32
}
