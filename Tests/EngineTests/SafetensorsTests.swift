import Foundation
import ModelFamilies
import ModelFormats
import Testing
import TestSupport

/// Each kind of damaged checkpoint gets its own clear error naming the file (and tensor).
@Suite struct SafetensorsTests {
    let original = Fixtures.url("llama/gqa-tied-f32")

    /// A copy of the fixture model folder whose model.safetensors is `bytes`.
    func folder(weights bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for name in ["config.json", "tokenizer.json"] {
            try FileManager.default.copyItem(at: original.appendingPathComponent(name), to: url.appendingPathComponent(name))
        }
        try Data(bytes).write(to: url.appendingPathComponent("model.safetensors"))
        return url
    }

    /// The fixture's file with its JSON header rewritten by `edit`, data unchanged.
    func rewrittenHeader(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        let bytes = try [UInt8](Data(contentsOf: original.appendingPathComponent("model.safetensors")))
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        edit(&header)
        // Data offsets count from the end of the header, so its length may change.
        let json = try [UInt8](JSONSerialization.data(withJSONObject: header))
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + Array(bytes[(8 + length)...])
    }

    func loadError(_ bytes: [UInt8]) throws -> String {
        let url = try folder(weights: bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try LlamaForCausalLM(folder: url)
            return "(loaded)"
        } catch {
            return "\(error)"
        }
    }

    var tensor: String { "model.layers.0.mlp.up_proj.weight" }

    @Test func truncatedData() throws {
        let bytes = try [UInt8](Data(contentsOf: original.appendingPathComponent("model.safetensors")))
        let message = try loadError(Array(bytes.dropLast(100)))
        #expect(message.contains("model.safetensors") && message.contains("run past the end of the file"))
    }

    @Test func headerLengthPastTheEnd() throws {
        let message = try loadError([0x00, 0x10, 0, 0, 0, 0, 0, 0] + Array("{}".utf8))
        #expect(message.contains("header length 4096 runs past the end of the file"))
        #expect(try loadError([1, 2, 3]).contains("shorter than the 8-byte header length"))
    }

    @Test func offsetsOutOfRange() throws {
        let message = try loadError(try rewrittenHeader { header in
            var entry = header[tensor] as! [String: Any]
            let offsets = entry["data_offsets"] as! [Int]
            entry["data_offsets"] = [offsets[0] + 10_000_000, offsets[1] + 10_000_000]
            header[tensor] = entry
        })
        #expect(message.contains(tensor) && message.contains("run past the end"))
    }

    @Test func overlappingTensors() throws {
        let message = try loadError(try rewrittenHeader { header in
            var entry = header[tensor] as! [String: Any]
            let other = header["model.layers.0.mlp.gate_proj.weight"] as! [String: Any]
            entry["data_offsets"] = other["data_offsets"]
            header[tensor] = entry
        })
        #expect(message.contains("overlaps"))
    }

    @Test func wrongDTypeForTheArchitecture() throws {
        let message = try loadError(try rewrittenHeader { header in
            var entry = header[tensor] as! [String: Any]
            entry["dtype"] = "I32"  // same size as F32, so the offsets still agree
            header[tensor] = entry
        })
        #expect(message.contains(tensor) && message.contains("dtype I32"))
    }

    @Test func shapeDisagreesWithConfig() throws {
        let message = try loadError(try rewrittenHeader { header in
            var entry = header[tensor] as! [String: Any]
            entry["shape"] = [64, 96]  // same size, transposed
            header[tensor] = entry
        })
        #expect(message.contains(tensor) && message.contains("config.json implies [96, 64]"))
    }

    @Test func missingAndUnexpectedTensors() throws {
        let missing = try loadError(try rewrittenHeader { header in
            header["model.layers.1.mlp.gate_proj.weight_renamed"] = header.removeValue(forKey: "model.layers.1.mlp.gate_proj.weight")
        })
        #expect(missing.contains("model.layers.1.mlp.gate_proj.weight") && missing.contains("missing"))
        let unexpected = try loadError(try rewrittenHeader { header in
            header["model.vision_tower.weight"] = ["dtype": "F32", "shape": [0], "data_offsets": [0, 0]]
        })
        #expect(unexpected.contains("does not use: model.vision_tower.weight"))
    }

    @Test func unsupportedDType() throws {
        let message = try loadError(try rewrittenHeader { header in
            var entry = header[tensor] as! [String: Any]
            entry["dtype"] = "F8_E4M3"
            header[tensor] = entry
        })
        #expect(message.contains(tensor) && message.contains("unsupported dtype F8_E4M3"))
    }

    @Test func noWeightsInFolder() throws {
        let error = try #require(throws: WeightsError.self) { try SafetensorsCheckpoint(folder: Fixtures.url("jpeg")) }
        #expect(error.description.contains("no model.safetensors"))
    }

    /// A sharded checkpoint (model.safetensors.index.json) loads like the single file.
    @Test func shardedCheckpoint() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sharded-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        for name in ["config.json"] {
            try FileManager.default.copyItem(at: original.appendingPathComponent(name), to: url.appendingPathComponent(name))
        }
        let names = try SafetensorsCheckpoint(folder: original).tensors.keys.sorted()
        // The same file under two shard names, each listed for half of the tensors.
        for shard in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            try FileManager.default.copyItem(at: original.appendingPathComponent("model.safetensors"), to: url.appendingPathComponent(shard))
        }
        var map: [String: String] = [:]
        for (index, name) in names.enumerated() { map[name] = index % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors" }
        try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: url.appendingPathComponent("model.safetensors.index.json"))
        let sharded = try LlamaForCausalLM(folder: url)
        let single = try LlamaForCausalLM(folder: original)
        var a = sharded.makeCache(), b = single.makeCache()
        #expect(sharded.logits(after: [1, 2, 3], cache: &a) == single.logits(after: [1, 2, 3], cache: &b))
    }
}
