import Foundation
import ModelFormats
import Tensors

/// How a KV cache holds keys and values: float32 (exact, the default) or IEEE half precision
/// (half the memory and half the bytes read per decoded token; llama.cpp's default).
public enum KVCacheFormat: String, Sendable, CaseIterable {
    case float32 = "f32"
    case float16 = "f16"
}

/// Keys and values of every layer for the positions seen so far, so each new token attends to
/// the past without recomputing it. Each head's positions are contiguous (kvHeads × positions ×
/// headDim per layer): decoding reads one head's keys as one stream, where interleaved heads
/// made the memory system fetch every head's bytes to use one head's. Storage grows as
/// positions are added (doubling), up to `capacity`, so a short prompt does not pay for the
/// model's whole context.
public struct KVCache: Sendable {
    public let format: KVCacheFormat
    /// Per layer: kvHeads × allocated × headDim, in the arrays of `format` (the others stay empty).
    var keys: [[Float]]
    var values: [[Float]]
    var halfKeys: [[UInt16]]
    var halfValues: [[UInt16]]
    let kvHeads: Int
    let headDim: Int
    /// Positions each head has room for.
    private(set) var allocated = 0
    /// Positions filled.
    public internal(set) var count: Int
    public let capacity: Int

    init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int, format: KVCacheFormat) {
        self.format = format
        let perLayer = format == .float32 ? layers : 0, halfPerLayer = format == .float16 ? layers : 0
        keys = Array(repeating: [], count: perLayer)
        values = Array(repeating: [], count: perLayer)
        halfKeys = Array(repeating: [], count: halfPerLayer)
        halfValues = Array(repeating: [], count: halfPerLayer)
        self.kvHeads = kvHeads
        self.headDim = headDim
        count = 0
        self.capacity = capacity
    }

    /// Makes room for `positions` in all, growing the storage geometrically (each head's filled
    /// positions move to the start of its new, longer run).
    mutating func reserve(_ positions: Int) {
        precondition(positions <= capacity, "KV cache overflow")
        guard positions > allocated else { return }
        let target = min(capacity, max(positions, allocated * 2, 64))
        let (heads, headDim, count, allocated) = (kvHeads, headDim, count, allocated)
        func grow<Element: Numeric>(_ layers: inout [[Element]]) {
            for layer in layers.indices {
                var new = [Element](repeating: 0, count: heads * target * headDim)
                for head in 0..<heads where count > 0 {
                    let source = head * allocated * headDim, destination = head * target * headDim
                    new.replaceSubrange(destination..<(destination + count * headDim),
                                        with: layers[layer][source..<(source + count * headDim)])
                }
                layers[layer] = new
            }
        }
        grow(&keys)
        grow(&values)
        grow(&halfKeys)
        grow(&halfValues)
        self.allocated = target
    }

    /// Copies `rows` positions of keys and values (each rows × kvHeads × headDim, as the
    /// projections write them) into `layer` from position `count` on, rounded to half
    /// precision in a float16 cache.
    mutating func store(keys newKeys: [Float], values newValues: [Float], rows: Int, layer: Int) {
        precondition(count + rows <= allocated && newKeys.count == rows * kvHeads * headDim && newValues.count == newKeys.count)
        let (heads, headDim, count, allocated) = (kvHeads, headDim, count, allocated)
        func scatter<Element>(_ source: [Float], into destination: inout [Element],
                              copy: (UnsafeBufferPointer<Float>, UnsafeMutablePointer<Element>) -> Void) {
            source.withUnsafeBufferPointer { source in
                destination.withUnsafeMutableBufferPointer { destination in
                    for head in 0..<heads {
                        for row in 0..<rows {
                            let from = source.baseAddress! + (row * heads + head) * headDim
                            copy(UnsafeBufferPointer(start: from, count: headDim),
                                 destination.baseAddress! + (head * allocated + count + row) * headDim)
                        }
                    }
                }
            }
        }
        switch format {
        case .float32:
            let copy = { (from: UnsafeBufferPointer<Float>, to: UnsafeMutablePointer<Float>) in to.update(from: from.baseAddress!, count: from.count) }
            scatter(newKeys, into: &keys[layer], copy: copy)
            scatter(newValues, into: &values[layer], copy: copy)
        case .float16:
            scatter(newKeys, into: &halfKeys[layer], copy: Kernels.toHalf)
            scatter(newValues, into: &halfValues[layer], copy: Kernels.toHalf)
        }
    }

    /// Where position p of head g of a layer starts, in elements.
    var strides: Kernels.KeyValueStrides { Kernels.KeyValueStrides(position: headDim, head: allocated * headDim) }

    /// Forgets every position from `length` on (to reuse a shared prefix).
    public mutating func truncate(to length: Int) {
        precondition(length >= 0 && length <= count)
        count = length
    }
}

/// A Llama decoder (pre-norm blocks of grouped-query attention with rotary positions and a
/// SwiGLU MLP, then RMSNorm and the output projection), written once for every family that
/// uses one. The forward pass reads top to bottom like llama2.c's.
public final class LlamaDecoder: Sendable {
    struct Layer: Sendable {
        let attentionNorm: [Float]
        let query, key, value, output: WeightMatrix
        let queryBias, keyBias, valueBias, outputBias: [Float]?
        let mlpNorm: [Float]
        let gate, up, down: WeightMatrix
        let gateBias, upBias, downBias: [Float]?
    }

    public let config: LlamaConfig
    let embedding: WeightMatrix         // vocab × hidden
    let layers: [Layer]
    let finalNorm: [Float]
    let outputProjection: WeightMatrix  // vocab × hidden (the embedding when tied)
    /// Rotary inverse frequencies, headDim / 2 of them.
    let inverseFrequencies: [Float]

    /// Loads the weights named `prefix` + transformers' Llama names (`model.` for
    /// LlamaForCausalLM, `model.text_model.` inside Idefics3), and `lmHead` for the output layer.
    /// Every tensor's shape is checked against `config`; `used` collects the names consumed.
    /// Matrices (embeddings, projections, output layer) are held in `weightFormat`; norms stay float32.
    public init(config: LlamaConfig, checkpoint: SafetensorsCheckpoint, prefix: String, lmHead: String,
                weightFormat: WeightFormat = .float32, used: inout Set<String>) throws(WeightsError) {
        self.config = config
        let (hidden, kvWidth) = (config.hiddenSize, config.numKeyValueHeads * config.headDim)
        let queryWidth = config.numAttentionHeads * config.headDim
        var loader = WeightLoader(checkpoint: checkpoint)
        func matrix(_ name: String, _ rows: Int, _ columns: Int) throws(WeightsError) -> WeightMatrix {
            try loader.matrix(name, rows: rows, columns: columns, format: weightFormat)
        }
        embedding = try matrix(prefix + "embed_tokens.weight", config.vocabSize, hidden)
        var layers: [Layer] = []
        for index in 0..<config.numHiddenLayers {
            let p = "\(prefix)layers.\(index)."
            let attentionBias = config.attentionBias, mlpBias = config.mlpBias
            layers.append(Layer(
                attentionNorm: try loader.load(p + "input_layernorm.weight", shape: [hidden]),
                query: try matrix(p + "self_attn.q_proj.weight", queryWidth, hidden),
                key: try matrix(p + "self_attn.k_proj.weight", kvWidth, hidden),
                value: try matrix(p + "self_attn.v_proj.weight", kvWidth, hidden),
                output: try matrix(p + "self_attn.o_proj.weight", hidden, queryWidth),
                queryBias: attentionBias ? try loader.load(p + "self_attn.q_proj.bias", shape: [queryWidth]) : nil,
                keyBias: attentionBias ? try loader.load(p + "self_attn.k_proj.bias", shape: [kvWidth]) : nil,
                valueBias: attentionBias ? try loader.load(p + "self_attn.v_proj.bias", shape: [kvWidth]) : nil,
                outputBias: attentionBias ? try loader.load(p + "self_attn.o_proj.bias", shape: [hidden]) : nil,
                mlpNorm: try loader.load(p + "post_attention_layernorm.weight", shape: [hidden]),
                gate: try matrix(p + "mlp.gate_proj.weight", config.intermediateSize, hidden),
                up: try matrix(p + "mlp.up_proj.weight", config.intermediateSize, hidden),
                down: try matrix(p + "mlp.down_proj.weight", hidden, config.intermediateSize),
                gateBias: mlpBias ? try loader.load(p + "mlp.gate_proj.bias", shape: [config.intermediateSize]) : nil,
                upBias: mlpBias ? try loader.load(p + "mlp.up_proj.bias", shape: [config.intermediateSize]) : nil,
                downBias: mlpBias ? try loader.load(p + "mlp.down_proj.bias", shape: [hidden]) : nil))
        }
        self.layers = layers
        finalNorm = try loader.load(prefix + "norm.weight", shape: [hidden])
        if config.tieWordEmbeddings {
            outputProjection = embedding
            loader.used.insert(lmHead)  // a saved copy of the tied weight is not "unexpected"
        } else {
            outputProjection = try matrix(lmHead, config.vocabSize, hidden)
        }
        let half = config.headDim / 2
        inverseFrequencies = (0..<half).map { i in
            Float(1 / Foundation.pow(config.ropeTheta, Double(2 * i) / Double(config.headDim)))
        }
        used.formUnion(loader.used)
    }

    /// An empty cache for up to max_position_embeddings positions; memory is taken as it fills.
    public func makeCache(format: KVCacheFormat = .float32) -> KVCache {
        KVCache(layers: config.numHiddenLayers, kvHeads: config.numKeyValueHeads, headDim: config.headDim,
                capacity: config.maxPositionEmbeddings, format: format)
    }

    /// The input embeddings of `tokens` (tokens × hidden). Callers may overwrite rows (image
    /// features, say) before passing them to `forward`.
    public func embed(_ tokens: [Int]) -> [Float] {
        let hidden = config.hiddenSize
        var x = [Float](repeating: 0, count: tokens.count * hidden)
        for (row, token) in tokens.enumerated() {
            precondition(token >= 0 && token < config.vocabSize, "token id \(token) outside the vocabulary")
            x.replaceSubrange((row * hidden)..<((row + 1) * hidden), with: embedding.dequantized(rows: token..<(token + 1)))
        }
        return x
    }

    /// Runs `embeddings` (count × hidden, at positions `cache.count` onwards) through the
    /// decoder, appending their keys and values to `cache`; returns the logits of the last one.
    public func forward(embeddings: [Float], cache: inout KVCache) -> [Float] {
        let hidden = config.hiddenSize
        let count = embeddings.count / hidden
        precondition(count > 0, "nothing to run")
        cache.reserve(cache.count + count)
        var x = embeddings
        for (index, layer) in layers.enumerated() {
            // Attention block: x += o(attention(rope(q), rope(k), v)) of RMSNorm(x).
            let normed = Kernels.rmsNorm(x, width: hidden, weight: layer.attentionNorm, epsilon: config.rmsNormEps)
            var q = linear(normed, count, layer.query, layer.queryBias)
            var k = linear(normed, count, layer.key, layer.keyBias)
            let v = linear(normed, count, layer.value, layer.valueBias)
            applyRotary(&q, heads: config.numAttentionHeads, count: count, start: cache.count)
            applyRotary(&k, heads: config.numKeyValueHeads, count: count, start: cache.count)
            cache.store(keys: k, values: v, rows: count, layer: index)
            let attended = attention(q, layer: index, count: count, cache: cache)
            Kernels.add(&x, linear(attended, count, layer.output, layer.outputBias))
            // MLP block: x += down(silu(gate) · up) of RMSNorm(x).
            let mlpInput = Kernels.rmsNorm(x, width: hidden, weight: layer.mlpNorm, epsilon: config.rmsNormEps)
            let activated = Kernels.siluProduct(linear(mlpInput, count, layer.gate, layer.gateBias),
                                                linear(mlpInput, count, layer.up, layer.upBias))
            Kernels.add(&x, linear(activated, count, layer.down, layer.downBias))
        }
        cache.count += count
        let last = Array(x[((count - 1) * hidden)...])
        let normed = Kernels.rmsNorm(last, width: hidden, weight: finalNorm, epsilon: config.rmsNormEps)
        return Kernels.linear(normed, rows: 1, weight: outputProjection)
    }

    private func linear(_ x: [Float], _ rows: Int, _ weight: WeightMatrix, _ bias: [Float]?) -> [Float] {
        Kernels.linear(x, rows: rows, weight: weight, bias: bias)
    }

    /// Rotate-half RoPE on each head of each row: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin).
    private func applyRotary(_ x: inout [Float], heads: Int, count: Int, start: Int) {
        let headDim = config.headDim, half = headDim / 2
        x.withUnsafeMutableBufferPointer { x in
            for row in 0..<count {
                let position = Float(start + row)
                for i in 0..<half {
                    let angle = position * inverseFrequencies[i]
                    let (cosine, sine) = (cos(angle), sin(angle))
                    for head in 0..<heads {
                        let base = (row * heads + head) * headDim
                        let (a, b) = (x[base + i], x[base + i + half])
                        x[base + i] = a * cosine - b * sine
                        x[base + i + half] = b * cosine + a * sine
                    }
                }
            }
        }
    }

    /// Causal grouped-query attention of `count` new queries over all cached positions.
    private func attention(_ q: [Float], layer: Int, count: Int, cache: KVCache) -> [Float] {
        let (heads, kvHeads, headDim) = (config.numAttentionHeads, config.numKeyValueHeads, config.headDim)
        switch cache.format {
        case .float32:
            return cache.keys[layer].withUnsafeBufferPointer { keys in
                cache.values[layer].withUnsafeBufferPointer { values in
                    Kernels.attention(queries: q, count: count, heads: heads, keys: keys.baseAddress!, values: values.baseAddress!,
                                      keyCount: cache.count + count, kvHeads: kvHeads, headDim: headDim, strides: cache.strides,
                                      causalStart: cache.count)
                }
            }
        case .float16:
            return cache.halfKeys[layer].withUnsafeBufferPointer { keys in
                cache.halfValues[layer].withUnsafeBufferPointer { values in
                    Kernels.attention(queries: q, count: count, heads: heads, halfKeys: keys.baseAddress!,
                                      halfValues: values.baseAddress!, keyCount: cache.count + count, kvHeads: kvHeads,
                                      headDim: headDim, strides: cache.strides, causalStart: cache.count)
                }
            }
        }
    }
}

/// Reads tensors by name with shape checks, remembering which were used.
struct WeightLoader {
    let checkpoint: SafetensorsCheckpoint
    var used: Set<String> = []

    mutating func load(_ name: String, shape: [Int]) throws(WeightsError) -> [Float] {
        try entry(name, shape: shape).floats()
    }

    /// The tensor `name`, checked to have `shape`, marked used.
    private mutating func entry(_ name: String, shape: [Int]) throws(WeightsError) -> TensorEntry {
        guard let entry = checkpoint.tensors[name] else {
            throw WeightsError(file: "model.safetensors", tensor: name, reason: "missing from the checkpoint")
        }
        guard entry.shape == shape else {
            throw WeightsError(file: entry.fileName, tensor: name, reason: "has shape \(entry.shape), config.json implies \(shape)")
        }
        used.insert(name)
        return entry
    }

    /// A rows × columns weight matrix, converted to `format` a slice at a time.
    mutating func matrix(_ name: String, rows: Int, columns: Int, format: WeightFormat) throws(WeightsError) -> WeightMatrix {
        let entry = try self.entry(name, shape: [rows, columns])
        return try WeightMatrix(rows: rows, columns: columns, format: format) { (range: Range<Int>) throws(WeightsError) in
            try entry.floats(elements: (range.lowerBound * columns)..<(range.upperBound * columns))
        }
    }
}
