import Foundation
import ModelFormats
import Tensors

// Llama (model_type "llama"): the decoder of SmolLM2, and of SmolVLM/Idefics3 as `text_config`.

/// The decoder settings of `config.json`, as transformers' `LlamaConfig` reads them, from either
/// layout on the Hub: 4.x (`rope_theta`, `rope_scaling`, `torch_dtype`) or 5.x (`rope_parameters`, `dtype`).
public struct LlamaConfig: Decodable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool
    public var mlpBias: Bool

    enum Keys: String, CodingKey {
        case vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads
        case head_dim, max_position_embeddings, rms_norm_eps, rope_theta, rope_scaling, rope_parameters
        case tie_word_embeddings, attention_bias, mlp_bias, hidden_act
    }

    private struct Rope: Decodable {
        var rope_type: String?
        var type: String?
        var rope_theta: Double?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        func invalid(_ key: Keys, _ reason: String) -> DecodingError { .dataCorruptedError(forKey: key, in: c, debugDescription: reason) }
        vocabSize = try c.positiveInt(.vocab_size)
        hiddenSize = try c.positiveInt(.hidden_size)
        intermediateSize = try c.positiveInt(.intermediate_size)
        numHiddenLayers = try c.positiveInt(.num_hidden_layers)
        numAttentionHeads = try c.positiveInt(.num_attention_heads)
        numKeyValueHeads = try c.positiveInt(.num_key_value_heads, default: numAttentionHeads)
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw invalid(.num_key_value_heads, "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        headDim = try c.positiveInt(.head_dim, default: hiddenSize / numAttentionHeads)
        guard headDim % 2 == 0 else { throw invalid(.head_dim, "must be even for rotary embeddings") }
        maxPositionEmbeddings = try c.positiveInt(.max_position_embeddings, default: 2048)
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rms_norm_eps) ?? 1e-6
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tie_word_embeddings) ?? false
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attention_bias) ?? false
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlp_bias) ?? false
        let activation = try c.decodeIfPresent(String.self, forKey: .hidden_act) ?? "silu"
        guard activation == "silu" else { throw invalid(.hidden_act, "'\(activation)' is not supported (Llama uses silu)") }
        // 5.x: rope_parameters {rope_type, rope_theta}; 4.x: rope_theta + rope_scaling (null or {type|rope_type}).
        let parameters = try c.decodeIfPresent(Rope.self, forKey: .rope_parameters)
        let scaling = try c.decodeIfPresent(Rope.self, forKey: .rope_scaling)
        ropeTheta = try parameters?.rope_theta ?? c.decodeIfPresent(Double.self, forKey: .rope_theta) ?? 10000
        let ropeType = parameters?.rope_type ?? scaling?.rope_type ?? scaling?.type ?? "default"
        guard ropeType == "default" else {
            throw invalid(parameters != nil ? .rope_parameters : .rope_scaling, "RoPE type '\(ropeType)' is not supported yet (supported: default)")
        }
    }

    /// Reads `config.json` of a model folder; a multimodal config's `text_config` is used when present.
    public static func load(from directory: ModelDirectory) throws(ConfigError) -> LlamaConfig {
        guard let root = try directory.jsonObject("config.json") else {
            throw ConfigError(file: directory.url.appendingPathComponent("config.json").path, reason: "missing")
        }
        if let text = root["text_config"] as? [String: Any] {
            var merged = text
            // Multimodal configs keep tying at the top level.
            if merged["tie_word_embeddings"] == nil, let tie = root["tie_word_embeddings"] { merged["tie_word_embeddings"] = tie }
            return try directory.decode(LlamaConfig.self, from: merged, file: "config.json")
        }
        return try directory.decode(LlamaConfig.self, from: root, file: "config.json")
    }
}

/// What the runtime generates text with: a decoder that turns tokens into next-token logits,
/// keeping its past in a KV cache.
public protocol CausalLanguageModel: Sendable {
    var vocabularySize: Int { get }
    /// The most positions a cache can hold (max_position_embeddings).
    var contextLength: Int { get }
    /// An empty cache, in the format the model was loaded with.
    func makeCache() -> KVCache
    /// Appends `tokens` to the sequence in `cache`; returns the logits after the last one.
    func logits(after tokens: [Int], cache: inout KVCache) -> [Float]
}

/// `LlamaForCausalLM`: a Llama decoder with weights named `model.*` and `lm_head.weight`.
public final class LlamaForCausalLM: CausalLanguageModel {
    public let decoder: LlamaDecoder
    public let cacheFormat: KVCacheFormat

    /// Loads `config.json` and the safetensors weights of `folder`; every tensor must be used.
    /// `weightFormat` is how the matrices are held in memory, `cacheFormat` how its caches hold keys and values.
    public init(folder: URL, weightFormat: WeightFormat = .float32, cacheFormat: KVCacheFormat = .float32) throws {
        self.cacheFormat = cacheFormat
        let directory = try ModelDirectory(folder)
        let config = try LlamaConfig.load(from: directory)
        let checkpoint = try SafetensorsCheckpoint(folder: folder)
        var used: Set<String> = []
        decoder = try LlamaDecoder(config: config, checkpoint: checkpoint, prefix: "model.", lmHead: "lm_head.weight",
                                   weightFormat: weightFormat, used: &used)
        try checkUnexpected(checkpoint, used: used, folder: folder)
    }

    public var vocabularySize: Int { decoder.config.vocabSize }
    public var contextLength: Int { decoder.config.maxPositionEmbeddings }
    public func makeCache() -> KVCache { decoder.makeCache(format: cacheFormat) }

    public func logits(after tokens: [Int], cache: inout KVCache) -> [Float] {
        decoder.forward(embeddings: decoder.embed(tokens), cache: &cache)
    }
}

/// Tensors the architecture does not use are an error (a wrong model type, a renamed layer),
/// except buffers transformers itself ignores on load.
func checkUnexpected(_ checkpoint: SafetensorsCheckpoint, used: Set<String>, folder: URL) throws(WeightsError) {
    let unexpected = checkpoint.tensors.keys.filter { !used.contains($0) && !$0.hasSuffix("rotary_emb.inv_freq") }.sorted()
    guard unexpected.isEmpty else {
        let names = unexpected.prefix(5).joined(separator: ", ") + (unexpected.count > 5 ? ", … (\(unexpected.count) in all)" : "")
        throw WeightsError(file: folder.path, reason: "tensors this architecture does not use: \(names)")
    }
}
