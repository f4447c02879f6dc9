import Foundation

/// NumPy's `.npy` format (version 1.0), the lingua franca for comparing tensors with PyTorch.
public enum NPY {
    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public let source: String
        public let reason: String
        public var description: String { "\(source): not a readable .npy file (\(reason))" }
    }

    /// The dtypes this reader understands, by their NumPy descriptor.
    public enum DType: String, Sendable {
        case float32 = "<f4"
        case uint8 = "|u1"
    }

    /// Serialises a float32 tensor (little-endian, C order).
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        var bytes = header(dtype: .float32, shape: tensor.shape)
        tensor.scalars.withUnsafeBytes { bytes.append(contentsOf: $0) }  // every supported platform is little-endian
        return bytes
    }

    /// Writes a float32 tensor to `url`.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try Data(encode(tensor)).write(to: url)
    }

    /// Parses a `.npy` file holding float32 or uint8 data (uint8 is widened to float).
    public static func decode(_ bytes: [UInt8], source: String) throws(FormatError) -> (dtype: DType, tensor: Tensor) {
        func fail(_ reason: String) -> FormatError { FormatError(source: source, reason: reason) }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, bytes.starts(with: magic) else { throw fail("missing the \\x93NUMPY signature") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("header ends early") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default: throw fail("unsupported version \(major)")
        }
        guard headerLength <= bytes.count - headerStart else { throw fail("header ends early") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")),
              let dtype = DType(rawValue: descr) else {
            throw fail("unsupported dtype in header \(header)")
        }
        guard field("fortran_order", in: header)?.trimmingCharacters(in: .whitespaces) == "False" else {
            throw fail("Fortran order is not supported")
        }
        guard let shapeText = shapeField(in: header) else { throw fail("no shape in header") }
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let count = Tensor.elementCount(shape) else { throw fail("invalid shape \(shapeText)") }
        let dataStart = headerStart + headerLength
        let itemSize = dtype == .float32 ? 4 : 1
        guard count <= (bytes.count - dataStart) / itemSize else { throw fail("data ends early") }
        let scalars: [Float]
        switch dtype {
        case .float32:
            scalars = [Float](unsafeUninitializedCapacity: count) { out, initialised in
                bytes.withUnsafeBytes { raw in
                    _ = memcpy(out.baseAddress!, raw.baseAddress! + dataStart, count * 4)
                }
                initialised = count
            }
        case .uint8:
            scalars = bytes[dataStart..<(dataStart + count)].map(Float.init)
        }
        return (dtype, Tensor(shape: shape, scalars: scalars)!)
    }

    /// Reads a `.npy` file.
    public static func read(_ url: URL) throws -> (dtype: DType, tensor: Tensor) {
        try decode([UInt8](Data(contentsOf: url)), source: url.path)
    }

    static func header(dtype: DType, shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var text = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': (\(dims)), }"
        // Magic (6) + version (2) + length (2) + text + "\n" is padded to a multiple of 64.
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = text.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8)
    }

    private static func field(_ name: String, in header: String) -> String? {
        guard let key = header.range(of: "'\(name)':") else { return nil }
        let rest = header[key.upperBound...]
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        return String(rest[..<end])
    }

    private static func shapeField(in header: String) -> String? {
        guard let key = header.range(of: "'shape':"),
              let open = header[key.upperBound...].firstIndex(of: "("),
              let close = header[open...].firstIndex(of: ")") else { return nil }
        return String(header[header.index(after: open)..<close])
    }
}
