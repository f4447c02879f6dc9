import Checksums
import Testing

@Suite struct SHA256Tests {
    // FIPS 180-4 examples and lengths around the 55/56/64-byte padding boundaries, with digests
    // from Python's hashlib.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownDigests(text: String, digest: String) {
        #expect(SHA256.hexDigest(of: Array(text.utf8)) == digest)
    }

    @Test func incrementalEqualsOneShot() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = SHA256.hexDigest(of: bytes)
        for split in [1, 55, 56, 63, 64, 65, 128, 999] {
            var hash = SHA256()
            hash.update(Array(bytes[..<split]))
            hash.update(Array(bytes[split...]))
            #expect(hash.finalizeHex() == whole, "split at \(split)")
        }
    }

    @Test func paddingBoundaries() {
        // Digests from hashlib.sha256(b"a" * n).hexdigest().
        let expected = [
            55: "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            56: "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            64: "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
        ]
        for (n, digest) in expected {
            #expect(SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: n)) == digest, "\(n) bytes")
        }
    }
}
