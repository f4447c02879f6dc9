import Foundation
import Tensors
import Testing

@Suite struct NPYTests {
    @Test func roundTrip() throws {
        let tensor = try #require(Tensor(shape: [2, 3], scalars: [0, -1.5, 2, .pi, 1e-30, -0]))
        let bytes = NPY.encode(tensor)
        // NumPy aligns the data to 64 bytes and ends the header with a newline.
        let headerEnd = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
        #expect(headerEnd % 64 == 0 && bytes[headerEnd - 1] == 0x0A)
        #expect(String(decoding: bytes[10..<headerEnd], as: UTF8.self).contains("'shape': (2, 3)"))
        let decoded = try NPY.decode(bytes, source: "t.npy")
        #expect(decoded.dtype == .float32)
        #expect(decoded.tensor.shape == [2, 3])
        #expect(decoded.tensor.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern))
    }

    @Test func oneDimensionalShapeHasTrailingComma() throws {
        let bytes = NPY.encode(try #require(Tensor(shape: [4], scalars: [1, 2, 3, 4])))
        #expect(String(decoding: bytes.prefix(80), as: UTF8.self).contains("'shape': (4,)"))
        #expect(try NPY.decode(bytes, source: "v.npy").tensor.shape == [4])
    }

    @Test func readsUInt8() throws {
        var bytes = [0x93] + Array("NUMPY".utf8) + [1, 0]
        var header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }"
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        bytes += [UInt8(header.utf8.count), 0] + Array(header.utf8) + [0, 128, 255]
        let decoded = try NPY.decode(bytes, source: "u8.npy")
        #expect(decoded.dtype == .uint8 && decoded.tensor.scalars == [0, 128, 255])
    }

    @Test func rejectsMalformedFiles() throws {
        let good = NPY.encode(try #require(Tensor(shape: [8], scalars: Array(repeating: 1, count: 8))))
        #expect(throws: NPY.FormatError.self) { try NPY.decode(Array("not numpy".utf8), source: "x") }
        #expect(throws: NPY.FormatError.self) { try NPY.decode(Array(good.dropLast(4)), source: "x") }
        #expect(throws: NPY.FormatError.self) { try NPY.decode(Array(good.prefix(20)), source: "x") }
        var float64 = good
        let descr = try #require(float64.indices.first { float64[$0..<($0 + 3)].elementsEqual("<f4".utf8) })
        float64[descr + 2] = UInt8(ascii: "8")
        let error = try #require(throws: NPY.FormatError.self) { try NPY.decode(float64, source: "f8.npy") }
        #expect(error.description.contains("f8.npy") && error.description.contains("dtype"))
    }

    @Test func tensorChecksItsShape() {
        #expect(Tensor(shape: [2, 2], scalars: [1, 2, 3]) == nil)
        #expect(Tensor(shape: [-1], scalars: []) == nil)
        #expect(Tensor.elementCount([Int.max, 2]) == nil)
        #expect(Tensor(zeros: [2, 0, 3]).scalars.isEmpty)
    }
}
