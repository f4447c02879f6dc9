import Foundation
import ModelFormats
import Tensors

/// The SigLIP/ViT vision tower settings (`vision_config` of Idefics3/SmolVLM).
public struct VisionConfig: Decodable, Sendable, Equatable {
    public var hiddenSize = 1152
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 16
    public var imageSize = 224
    public var patchSize = 32
    public var layerNormEps: Float = 1e-6
    /// `gelu_pytorch_tanh` (SigLIP's) or `gelu` (exact).
    public var approximateGELU = true

    enum Keys: String, CodingKey {
        case hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, image_size, patch_size, layer_norm_eps, hidden_act
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        hiddenSize = try c.positiveInt(.hidden_size, default: hiddenSize)
        intermediateSize = try c.positiveInt(.intermediate_size, default: intermediateSize)
        numHiddenLayers = try c.positiveInt(.num_hidden_layers, default: numHiddenLayers)
        numAttentionHeads = try c.positiveInt(.num_attention_heads, default: numAttentionHeads)
        imageSize = try c.positiveInt(.image_size, default: imageSize)
        patchSize = try c.positiveInt(.patch_size, default: patchSize)
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layer_norm_eps) ?? layerNormEps
        let activation = try c.decodeIfPresent(String.self, forKey: .hidden_act) ?? "gelu_pytorch_tanh"
        switch activation {
        case "gelu_pytorch_tanh", "gelu_new": approximateGELU = true
        case "gelu": approximateGELU = false
        default:
            throw DecodingError.dataCorruptedError(forKey: .hidden_act, in: c, debugDescription: "activation '\(activation)' is not supported")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .num_attention_heads, in: c, debugDescription: "must divide hidden_size")
        }
        guard imageSize % patchSize == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .patch_size, in: c, debugDescription: "must divide image_size")
        }
    }

    /// Patches per side of a frame.
    public var patchesPerSide: Int { imageSize / patchSize }
}

/// A SigLIP vision transformer as Idefics3 uses it: patch embedding (a convolution, done as one
/// matrix product over unfolded patches), learned position embeddings, pre-norm encoder layers
/// (biased attention, GELU MLP), post-layernorm; no pooling head.
public final class SigLIPVisionEncoder: Sendable {
    struct Layer: Sendable {
        let norm1Weight, norm1Bias: [Float]
        let query: WeightMatrix, queryBias: [Float], key: WeightMatrix, keyBias: [Float]
        let value: WeightMatrix, valueBias: [Float], output: WeightMatrix, outputBias: [Float]
        let norm2Weight, norm2Bias: [Float]
        let fc1: WeightMatrix, fc1Bias: [Float], fc2: WeightMatrix, fc2Bias: [Float]
    }

    public let config: VisionConfig
    let patchWeight: [Float]   // hidden × (3 · patch · patch), in (channel, row, column) order
    let patchBias: [Float]
    let positions: [Float]     // patches × hidden
    let layers: [Layer]
    let postNormWeight, postNormBias: [Float]

    /// `weightFormat` is how the layers' matrices are held (float32 or bfloat16; the patch
    /// embedding stays float32).
    init(config: VisionConfig, checkpoint: SafetensorsCheckpoint, prefix: String, weightFormat: WeightFormat = .float32,
         used: inout Set<String>) throws(WeightsError) {
        self.config = config
        var loader = WeightLoader(checkpoint: checkpoint)
        func matrix(_ name: String, _ rows: Int, _ columns: Int) throws(WeightsError) -> WeightMatrix {
            try loader.matrix(name, rows: rows, columns: columns, format: weightFormat)
        }
        let (d, p, ffn) = (config.hiddenSize, config.patchSize, config.intermediateSize)
        let patches = config.patchesPerSide * config.patchesPerSide
        patchWeight = try loader.load(prefix + "embeddings.patch_embedding.weight", shape: [d, 3, p, p])
        patchBias = try loader.load(prefix + "embeddings.patch_embedding.bias", shape: [d])
        positions = try loader.load(prefix + "embeddings.position_embedding.weight", shape: [patches, d])
        var layers: [Layer] = []
        for index in 0..<config.numHiddenLayers {
            let l = "\(prefix)encoder.layers.\(index)."
            layers.append(Layer(
                norm1Weight: try loader.load(l + "layer_norm1.weight", shape: [d]),
                norm1Bias: try loader.load(l + "layer_norm1.bias", shape: [d]),
                query: try matrix(l + "self_attn.q_proj.weight", d, d),
                queryBias: try loader.load(l + "self_attn.q_proj.bias", shape: [d]),
                key: try matrix(l + "self_attn.k_proj.weight", d, d),
                keyBias: try loader.load(l + "self_attn.k_proj.bias", shape: [d]),
                value: try matrix(l + "self_attn.v_proj.weight", d, d),
                valueBias: try loader.load(l + "self_attn.v_proj.bias", shape: [d]),
                output: try matrix(l + "self_attn.out_proj.weight", d, d),
                outputBias: try loader.load(l + "self_attn.out_proj.bias", shape: [d]),
                norm2Weight: try loader.load(l + "layer_norm2.weight", shape: [d]),
                norm2Bias: try loader.load(l + "layer_norm2.bias", shape: [d]),
                fc1: try matrix(l + "mlp.fc1.weight", ffn, d),
                fc1Bias: try loader.load(l + "mlp.fc1.bias", shape: [ffn]),
                fc2: try matrix(l + "mlp.fc2.weight", d, ffn),
                fc2Bias: try loader.load(l + "mlp.fc2.bias", shape: [d])))
        }
        self.layers = layers
        postNormWeight = try loader.load(prefix + "post_layernorm.weight", shape: [d])
        postNormBias = try loader.load(prefix + "post_layernorm.bias", shape: [d])
        used.formUnion(loader.used)
    }

    /// The last hidden states of a batch of frames (each 3 × imageSize × imageSize, channels
    /// first, one after another): frames × patches × hidden. The frames go through every matrix
    /// product together; attention stays within each frame.
    public func encode(frames pixels: UnsafeBufferPointer<Float>) -> [Float] {
        let (d, p, side) = (config.hiddenSize, config.patchSize, config.imageSize)
        let perSide = config.patchesPerSide
        let patches = perSide * perSide
        let frameSize = 3 * side * side
        precondition(pixels.count % frameSize == 0 && !pixels.isEmpty, "frames must be 3 × \(side) × \(side)")
        let frames = pixels.count / frameSize
        let rows = frames * patches
        // Unfold into (frame, patch) rows of 3·p·p values in the convolution weight's
        // (channel, row, column) order.
        var unfolded = [Float](repeating: 0, count: rows * 3 * p * p)
        for frame in 0..<frames {
            let base = frame * frameSize
            for py in 0..<perSide {
                for px in 0..<perSide {
                    var column = ((frame * patches) + py * perSide + px) * 3 * p * p
                    for channel in 0..<3 {
                        for row in 0..<p {
                            let source = base + (channel * side + py * p + row) * side + px * p
                            for i in 0..<p { unfolded[column + i] = pixels[source + i] }
                            column += p
                        }
                    }
                }
            }
        }
        var x = Kernels.linear(unfolded, rows: rows, weight: patchWeight, inFeatures: 3 * p * p, outFeatures: d, bias: patchBias)
        // Full frames: position ids are 0..<patches (transformers' bucketing reduces to this).
        for frame in 0..<frames {
            x.withUnsafeMutableBufferPointer { x in
                positions.withUnsafeBufferPointer { positions in
                    for i in 0..<(patches * d) { x[frame * patches * d + i] += positions[i] }
                }
            }
        }
        let heads = config.numAttentionHeads
        for layer in layers {
            let normed = Kernels.layerNorm(x, width: d, weight: layer.norm1Weight, bias: layer.norm1Bias, epsilon: config.layerNormEps)
            let q = Kernels.linear(normed, rows: rows, weight: layer.query, bias: layer.queryBias)
            let k = Kernels.linear(normed, rows: rows, weight: layer.key, bias: layer.keyBias)
            let v = Kernels.linear(normed, rows: rows, weight: layer.value, bias: layer.valueBias)
            var attended = [Float]()
            attended.reserveCapacity(rows * d)
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    for frame in 0..<frames {
                        let offset = frame * patches * d
                        attended += Kernels.attention(queries: Array(q[offset..<(offset + patches * d)]), count: patches, heads: heads,
                                                      keys: k.baseAddress! + offset, values: v.baseAddress! + offset,
                                                      keyCount: patches, kvHeads: heads, headDim: d / heads, causalStart: nil)
                    }
                }
            }
            Kernels.add(&x, Kernels.linear(attended, rows: rows, weight: layer.output, bias: layer.outputBias))
            let mlpInput = Kernels.layerNorm(x, width: d, weight: layer.norm2Weight, bias: layer.norm2Bias, epsilon: config.layerNormEps)
            let hidden = Kernels.gelu(Kernels.linear(mlpInput, rows: rows, weight: layer.fc1, bias: layer.fc1Bias),
                                      approximateTanh: config.approximateGELU)
            Kernels.add(&x, Kernels.linear(hidden, rows: rows, weight: layer.fc2, bias: layer.fc2Bias))
        }
        return Kernels.layerNorm(x, width: d, weight: postNormWeight, bias: postNormBias, epsilon: config.layerNormEps)
    }
}

/// Idefics3's connector: pixel shuffle (space-to-depth by `scaleFactor`) then a bias-free
/// projection into the decoder's width.
public struct PixelShuffleConnector: Sendable {
    public let scaleFactor: Int
    let projection: [Float]  // textHidden × (visionHidden · s²)
    let visionHidden: Int
    let textHidden: Int

    init(scaleFactor: Int, visionHidden: Int, textHidden: Int, checkpoint: SafetensorsCheckpoint, name: String,
         used: inout Set<String>) throws(WeightsError) {
        var loader = WeightLoader(checkpoint: checkpoint)
        projection = try loader.load(name, shape: [textHidden, visionHidden * scaleFactor * scaleFactor])
        self.scaleFactor = scaleFactor
        self.visionHidden = visionHidden
        self.textHidden = textHidden
        used.formUnion(loader.used)
    }

    /// Patches of one or more frames (each side × side × visionHidden, row-major) → per frame
    /// (side/s)² tokens × textHidden. Token
    /// (i, j) gathers the s × s patches below and right of (i·s, j·s), channel index
    /// (dy·s + dx)·D + d, exactly as transformers' view/permute sequence orders them.
    public func callAsFunction(_ patches: [Float], side: Int) -> [Float] {
        let (s, d) = (scaleFactor, visionHidden)
        let outSide = side / s
        let frames = patches.count / (side * side * d)
        var shuffled = [Float](repeating: 0, count: patches.count)
        for frame in 0..<frames {
            let base = frame * side * side * d
            for i in 0..<outSide {
                for j in 0..<outSide {
                    let token = base + (i * outSide + j) * s * s * d
                    for dy in 0..<s {
                        for dx in 0..<s {
                            let source = base + ((i * s + dy) * side + j * s + dx) * d
                            let target = token + (dy * s + dx) * d
                            shuffled.replaceSubrange(target..<(target + d), with: patches[source..<(source + d)])
                        }
                    }
                }
            }
        }
        return Kernels.linear(shuffled, rows: frames * outSide * outSide, weight: projection, inFeatures: s * s * d, outFeatures: textHidden)
    }
}
