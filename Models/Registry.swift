/// The models this project has checked, by HuggingFace Hub id: what `vqa models` lists and what
/// `vqa` uses when no `--model` is given.
///
/// "Checked" is said precisely in `verification`: this repository's CI has no network, so a model
/// is listed with what was compared against transformers for it (its processor settings, its
/// configs, its architecture on random weights of its real shapes), never more.
public struct RegisteredModel: Sendable {
    /// The Hub repository, `ORG/NAME`.
    public let id: String
    /// The family the runtime loads it with (`model_type` in its config.json).
    public let family: String
    public let parameters: String
    /// Approximate download size of the files the runtime needs.
    public let downloadMegabytes: Int
    public let summary: String
    /// Options worth knowing for this model.
    public let recommendedOptions: String
    public let verification: String
}

public enum ModelRegistry {
    /// Used when `--model` is omitted.
    public static let defaultModelID = "HuggingFaceTB/SmolVLM-256M-Instruct"

    public static let models: [RegisteredModel] = [
        RegisteredModel(
            id: "HuggingFaceTB/SmolVLM-256M-Instruct", family: "idefics3", parameters: "256M", downloadMegabytes: 520,
            summary: "The smallest SmolVLM: SigLIP-B/16 (93M) + SmolLM2-135M, 64 tokens per 512-pixel tile.",
            recommendedOptions: "--no-image-splitting for a fast answer (1 frame instead of up to 17)",
            verification: "processor settings and file layout from the Hub snapshot; architecture at its real shapes on random weights equal to transformers"),
        RegisteredModel(
            id: "HuggingFaceTB/SmolVLM-500M-Instruct", family: "idefics3", parameters: "500M", downloadMegabytes: 1_020,
            summary: "SigLIP-B/16 + SmolLM2-360M: better answers than 256M at about twice the decoding cost.",
            recommendedOptions: "--no-image-splitting for speed",
            verification: "processor settings and file layout from the Hub snapshot; the architecture is the 256M one at other sizes"),
    ]

    /// The model trained by this project on synthetic images and shipped in `Models/builtin/`
    /// (`--model builtin`; the default when the default Hub model is not downloaded).
    public static let builtin = RegisteredModel(
        id: BuiltinModel.name, family: "idefics3", parameters: "6.5M", downloadMegabytes: 0,
        summary: "Trained here from scratch on generated bar/line/pie charts, coloured shapes and UI sketches; "
            + "knows nothing else (not photos, not free-form questions). Accuracy per question type: Models/builtin/README.md.",
        recommendedOptions: "ask what tools/train/generate.py asks: 'How many bars are there?', 'Describe the image.', 'Turn this sketch into HTML.'",
        verification: "greedy tokens equal to transformers' on committed examples (Tests/Fixtures/builtin)")

    public static func model(_ id: String) -> RegisteredModel? {
        models.first { $0.id == id }
    }
}
