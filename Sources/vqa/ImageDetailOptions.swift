import ArgumentParser

/// How much of each image the model sees: every command that sends images takes these.
struct ImageDetailOptions: ParsableArguments {
    @Flag(name: .long, help: "One frame per image instead of tiles plus a global view (much faster, less detail).")
    var noImageSplitting = false

    @Option(name: .long, help: ArgumentHelp(
        "At most this many tiles per image (plus the global view); each tile is a vision-encoder pass and 64 prompt tokens for SmolVLM.",
        valueName: "n"))
    var maxTiles: Int?

    func validate() throws {
        if let maxTiles, maxTiles < 1 { throw ValidationError("--max-tiles must be at least 1") }
        if noImageSplitting && maxTiles != nil { throw ValidationError("--max-tiles has no effect with --no-image-splitting; give one of them") }
    }

    /// `prepare(imageSplitting:)`'s argument: nil keeps the model's own setting.
    var imageSplitting: Bool? { noImageSplitting ? false : nil }
}
