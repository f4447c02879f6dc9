// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-vlm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vqa", targets: ["vqa"]),
        .library(name: "ImageCodec", targets: ["ImageCodec"]),
        .library(name: "ImageOps", targets: ["ImageOps"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "ChatTemplates", targets: ["ChatTemplates"]),
        .library(name: "ModelFormats", targets: ["ModelFormats"]),
        .library(name: "ModelFamilies", targets: ["ModelFamilies"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "Checksums", targets: ["Checksums"]),
        .library(name: "Hub", targets: ["Hub"]),
        .library(name: "ModelRegistry", targets: ["ModelRegistry"]),
        .library(name: "Server", targets: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // System C libraries, found through pkg-config (Debian: libpng-dev libjpeg-dev libopenblas-dev).
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        .systemLibrary(
            name: "CJPEG", pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"]), .brew(["jpeg-turbo"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        // The only code that calls libpng/libjpeg: owns their setjmp/longjmp error handling.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"]),

        // Files -> upright 8-bit RGB(A) pixels.
        .target(name: "ImageCodec", dependencies: ["CImageCodecs"]),
        // Pixel operations: Pillow-exact resampling, crops, alpha compositing, normalisation.
        .target(name: "ImageOps", dependencies: ["ImageCodec", "Tensors"]),
        // Matrix-vector kernels for 16- and 8-bit weights, softmax/GELU/SiLU on a vectorised exp
        // (AVX2+FMA chosen at run time, portable C otherwise), the thread team, and attention on it.
        .target(name: "CWeightKernels", dependencies: ["COpenBLAS"], cSettings: [.unsafeFlags(["-O3"])]),
        // Dense float tensors and their file formats (.npy).
        .target(name: "Tensors", dependencies: ["COpenBLAS", "CWeightKernels"]),
        // Jinja chat templates, rendered as transformers renders them.
        .target(name: "ChatTemplates"),
        // HuggingFace tokenizer.json: BPE encoding and decoding, exact to `tokenizers`.
        .target(name: "Tokenizers"),
        // SHA-256 for download verification and content-keyed caches.
        .target(name: "Checksums"),
        // Models from the HuggingFace Hub, in huggingface_hub's cache layout.
        .target(name: "Hub", dependencies: ["Checksums"]),
        // The models this project has checked (Models/), the default one, and the built-in model
        // (Models/builtin/, copied next to the executables as a resource bundle).
        .target(name: "ModelRegistry", dependencies: ["Hub"], path: "Models", exclude: ["README.md"],
                resources: [.copy("builtin")]),
        // Weight files: safetensors (memory-mapped, validated), sharded or not.
        .target(name: "ModelFormats"),
        // Blocks (the Llama decoder, ...) written once, and one file per model family composing
        // them, with configs and processors as transformers defines them.
        .target(name: "ModelFamilies", dependencies: ["ImageCodec", "ImageOps", "Tensors", "ModelFormats"]),
        // Generation: sampling, stop conditions, streaming.
        .target(name: "Runtime", dependencies: ["ChatTemplates", "Checksums", "ImageCodec", "ModelFamilies", "Tensors", "Tokenizers"]),
        // The OpenAI-compatible HTTP server (`vqa serve`), on Hummingbird.
        .target(
            name: "Server",
            dependencies: [
                "ChatTemplates", "Checksums", "ImageCodec", "Runtime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // glibc allocator settings for the CLI process (large activation buffers reused, not re-faulted).
        .target(name: "CMemoryTuning"),
        // The command-line tool.
        .executableTarget(
            name: "vqa",
            dependencies: [
                "CMemoryTuning", "ChatTemplates", "Hub", "ImageCodec", "ImageOps", "ModelRegistry", "Tensors", "Tokenizers",
                "ModelFamilies", "Runtime", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Examples/: programs built on the library modules.
        .target(name: "HTMLPage", path: "Examples/SketchToHTML/HTMLPage"),
        .executableTarget(
            name: "sketch-to-html",
            dependencies: ["ChatTemplates", "HTMLPage", "Hub", "ImageCodec", "ModelRegistry", "Runtime",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/SketchToHTML/App"),
        .executableTarget(name: "caption-folder", dependencies: ["ChatTemplates", "Hub", "ImageCodec", "ModelRegistry", "Runtime"],
                          path: "Examples/CaptionFolder"),

        // Test helpers: fixture paths and comparisons.
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "ChecksumsTests", dependencies: ["Checksums"]),
        .testTarget(name: "HubTests", dependencies: [
            "Hub", "Checksums", "TestSupport", "vqa",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ImageCodecTests", dependencies: ["ImageCodec", "TestSupport"]),
        .testTarget(name: "ImageOpsTests", dependencies: ["ImageOps", "ImageCodec", "TestSupport"]),
        .testTarget(name: "TensorsTests", dependencies: ["CWeightKernels", "Tensors", "TestSupport"]),
        .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "ModelFamiliesTests", dependencies: ["ModelFamilies", "ImageCodec", "Tensors", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Checksums", "ImageCodec", "ModelFamilies", "ModelFormats", "ModelRegistry", "Runtime", "Tensors", "Tokenizers", "TestSupport"]),
        .testTarget(name: "ExamplesTests", dependencies: ["HTMLPage", "sketch-to-html", "caption-folder", "TestSupport"]),
        .testTarget(name: "vqaTests", dependencies: ["vqa", "Tensors", "TestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "ChatTemplates", "ImageCodec", "Runtime", "Server", "TestSupport", "vqa",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),
    ]
)
