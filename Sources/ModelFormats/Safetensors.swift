import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A problem with a weights file, naming the file and, where there is one, the tensor.
public struct WeightsError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let tensor: String?
    public let reason: String

    public init(file: String, tensor: String? = nil, reason: String) {
        self.file = file
        self.tensor = tensor
        self.reason = reason
    }

    public var description: String {
        tensor.map { "\(file): tensor '\($0)': \(reason)" } ?? "\(file): \(reason)"
    }
}

/// Element types of the safetensors format this runtime reads.
public enum DType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i8 = "I8", u8 = "U8", i32 = "I32", i64 = "I64"

    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i8, .u8: return 1
        case .i64: return 8
        }
    }
}

/// A read-only memory map of a whole file.
final class MappedFile: @unchecked Sendable {  // immutable after init
    let path: String
    let base: UnsafeRawPointer?
    let size: Int

    init(path: String) throws(WeightsError) {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw WeightsError(file: path, reason: "cannot be opened (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw WeightsError(file: path, reason: "cannot be read") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw WeightsError(file: path, reason: "is not a regular file") }
        size = Int(status.st_size)
        if size == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else { throw WeightsError(file: path, reason: "cannot be memory-mapped") }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// Drops the resident pages lying wholly inside `range` (they are read again from the file
    /// if touched later, so this changes memory use, never contents).
    func release(_ range: Range<Int>) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (range.lowerBound + page - 1) / page * page, last = range.upperBound / page * page
        guard last > first else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + first), last - first, Int32(MADV_DONTNEED))
    }
}

/// One tensor of a safetensors file: its type, shape and bytes (inside the memory map).
public struct TensorEntry: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    let file: MappedFile
    /// Byte range within the file.
    let range: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }

    /// The path of the file holding it.
    public var fileName: String { file.path }

    /// The values widened to Float32 (floating-point types only). The file's pages that hold
    /// only this tensor are handed back to the kernel afterwards: the copy is what the model
    /// keeps, and a checkpoint's mapped pages would otherwise double the memory a load takes.
    public func floats() throws(WeightsError) -> [Float] {
        try floats(elements: 0..<elementCount)
    }

    /// Elements `elements` (in row-major order) widened to Float32, the file's pages lying wholly
    /// inside them handed back afterwards: a large tensor read a slice at a time never has
    /// all of its bytes resident.
    public func floats(elements: Range<Int>) throws(WeightsError) -> [Float] {
        precondition(elements.lowerBound >= 0 && elements.upperBound <= elementCount)
        let count = elements.count
        guard let base = file.base, count > 0 else { return [] }
        let width = dtype.size
        let start = base + range.lowerBound + elements.lowerBound * width
        defer { file.release((range.lowerBound + elements.lowerBound * width)..<(range.lowerBound + elements.upperBound * width)) }
        switch dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: count) { out, initialised in
                memcpy(out.baseAddress!, start, count * 4)
                initialised = count
            }
        case .bf16:
            return [Float](unsafeUninitializedCapacity: count) { out, initialised in
                for i in 0..<count {
                    let bits = UInt32(start.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    out[i] = Float(bitPattern: bits << 16)
                }
                initialised = count
            }
        case .f16:
            return [Float](unsafeUninitializedCapacity: count) { out, initialised in
                for i in 0..<count { out[i] = halfToFloat(start.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
                initialised = count
            }
        default:
            throw WeightsError(file: file.path, tensor: name, reason: "has dtype \(dtype.rawValue); a floating-point type is needed here")
        }
    }
}

/// IEEE half → single, exact (subnormals, infinities and NaN included).
func halfToFloat(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = Int(half >> 10) & 0x1F
    let mantissa = UInt32(half & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    if exponent == 0 {
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
}

/// The tensors of a model folder: one `model.safetensors` or the shards listed in
/// `model.safetensors.index.json`. Every header is validated before any tensor is used.
public struct SafetensorsCheckpoint: Sendable {
    public let tensors: [String: TensorEntry]

    /// Largest header accepted: real ones are kilobytes to a few MB.
    static let maxHeaderSize = 100_000_000

    public init(folder: URL) throws(WeightsError) {
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        let single = folder.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: index.path) {
            let shards = try Self.shardFiles(index: index)
            var tensors: [String: TensorEntry] = [:]
            for (shard, names) in shards {
                let file = try Self.read(folder.appendingPathComponent(shard))
                for name in names {
                    guard let entry = file[name] else {
                        throw WeightsError(file: folder.appendingPathComponent(shard).path, tensor: name,
                                           reason: "listed in model.safetensors.index.json but not in this shard")
                    }
                    tensors[name] = entry
                }
            }
            self.tensors = tensors
        } else if FileManager.default.fileExists(atPath: single.path) {
            tensors = try Self.read(single)
        } else {
            throw WeightsError(file: folder.path, reason: "no model.safetensors or model.safetensors.index.json in this folder")
        }
    }

    /// Parses and validates one safetensors file.
    public static func read(_ url: URL) throws(WeightsError) -> [String: TensorEntry] {
        let path = url.path
        let file = try MappedFile(path: path)
        guard file.size >= 8, let base = file.base else { throw WeightsError(file: path, reason: "truncated: shorter than the 8-byte header length") }
        let headerSize = Int(clamping: UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
        guard headerSize <= maxHeaderSize else { throw WeightsError(file: path, reason: "header length \(headerSize) is implausibly large") }
        guard headerSize <= file.size - 8 else {
            throw WeightsError(file: path, reason: "truncated: header length \(headerSize) runs past the end of the file (\(file.size) bytes)")
        }
        let headerData = Data(bytes: base + 8, count: headerSize)
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw WeightsError(file: path, reason: "the header is not a JSON object")
        }
        let dataStart = 8 + headerSize
        let dataSize = file.size - dataStart
        var tensors: [String: TensorEntry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any] else { throw WeightsError(file: path, tensor: name, reason: "entry is not an object") }
            guard let dtypeName = info["dtype"] as? String, let dtype = DType(rawValue: dtypeName) else {
                throw WeightsError(file: path, tensor: name, reason: "unsupported dtype \(info["dtype"] ?? "(none)") (supported: F32, F16, BF16, I8, U8, I32, I64)")
            }
            guard let shape = info["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw WeightsError(file: path, tensor: name, reason: "shape must be a list of non-negative integers")
            }
            guard let offsets = info["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw WeightsError(file: path, tensor: name, reason: "data_offsets must be [begin, end] with 0 ≤ begin ≤ end")
            }
            var bytes = dtype.size
            for dimension in shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw WeightsError(file: path, tensor: name, reason: "shape \(shape) overflows") }
                bytes = product
            }
            guard offsets[1] - offsets[0] == bytes else {
                throw WeightsError(file: path, tensor: name, reason: "data_offsets span \(offsets[1] - offsets[0]) bytes but \(dtype.rawValue) \(shape) needs \(bytes)")
            }
            guard offsets[1] <= dataSize else {
                throw WeightsError(file: path, tensor: name, reason: "data_offsets \(offsets) run past the end of the file (truncated?)")
            }
            tensors[name] = TensorEntry(name: name, dtype: dtype, shape: shape, file: file,
                                        range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        let sorted = tensors.values.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
            throw WeightsError(file: path, tensor: next.name, reason: "its data overlaps tensor '\(previous.name)'")
        }
        return tensors
    }

    private static func shardFiles(index: URL) throws(WeightsError) -> [(String, [String])] {
        guard let data = try? Data(contentsOf: index),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let map = object["weight_map"] as? [String: String] else {
            throw WeightsError(file: index.path, reason: "expected a JSON object with a 'weight_map' of tensor → file")
        }
        var shards: [String: [String]] = [:]
        for (tensor, file) in map {
            guard !file.contains("/"), !file.contains("\\") else {
                throw WeightsError(file: index.path, tensor: tensor, reason: "shard name '\(file)' must be a file in the model folder")
            }
            shards[file, default: []].append(tensor)
        }
        return shards.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
