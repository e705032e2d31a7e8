import Testing
@testable import VLLMHub

/// FIPS 180-4 example vectors, fed whole and in uneven pieces (blocks straddle updates).
@Suite struct SHA256Tests {
    static func digest(_ bytes: [UInt8], pieces: [Int] = []) -> String {
        var hasher = SHA256()
        var offset = 0
        for size in pieces where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            hasher.update(Array(bytes[offset..<end]))
            offset = end
        }
        hasher.update(Array(bytes[offset...]))
        return hasher.finalizeHex()
    }

    @Test func knownVectors() {
        #expect(Self.digest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.digest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Self.digest(twoBlocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Self.digest(twoBlocks, pieces: [1, 62, 3]) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func millionAsInUnevenPieces() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(Self.digest(million) == expected)
        #expect(Self.digest(million, pieces: [7, 64, 129, 1000, 3, 55, 56, 57, 4096]) == expected)
    }
}
