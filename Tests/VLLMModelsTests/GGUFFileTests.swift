import Testing
import VLLMTestSupport
@testable import VLLMModels
import VLLMCompute

@Suite struct GGUFFileTests {
    @Test func readsDefaultModelMetadataAndTensors() throws {
        let f = try GGUFFile(path: TestPaths.defaultModel)
        #expect(f.version == 3)
        #expect(f.metadata["general.architecture"]?.string == "llama")
        #expect(f.metadata["llama.block_count"]?.int == 30)
        #expect(f.metadata["llama.embedding_length"]?.int == 576)
        #expect(f.metadata["tokenizer.ggml.tokens"]?.array?.count == 49152)
        #expect(f.metadata["tokenizer.ggml.merges"]?.array?.count == 48900)
        let embd = try #require(f.tensor(named: "token_embd.weight"))
        #expect(embd.type == .q8_0)
        #expect(embd.shape == [576, 49152])
        #expect(f.tensor(named: "blk.0.attn_q.weight")?.type == .q4_1)
        #expect(f.tensor(named: "output.weight") == nil)
        #expect(f.tensors.allSatisfy { $0.fileOffset % f.alignment == 0 && $0.fileOffset + $0.byteCount <= f.file.count })
    }

    /// Released pages of a mapped tensor (weights repacked at load) read the same bytes again.
    @Test func releasedPagesReadTheSameAgain() throws {
        let f = try GGUFFile(path: TestPaths.defaultModel)
        let t = try #require(f.tensor(named: "blk.3.ffn_up.weight"))
        let bytes = { Array(UnsafeRawBufferPointer(start: f.data(of: t), count: t.byteCount)) }
        let before = bytes()
        f.file.releasePages(f.data(of: t), byteCount: t.byteCount)
        #expect(bytes() == before)
    }

    @Test func rejectsWrongMagicAndVersion() throws {
        var bytes = Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16)
        #expect(throws: Never.self) { try GGUFFile(file: MappedFile(copying: bytes)) }
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: ModelLoadError.self) { try GGUFFile(file: MappedFile(copying: bytes)) }
        bytes[0] = UInt8(ascii: "G"); bytes[4] = 1
        do {
            _ = try GGUFFile(file: MappedFile(copying: bytes))
            Issue.record("version 1 accepted")
        } catch {
            #expect("\(error)".contains("version 1"))
        }
    }

    @Test func missingFileIsAClearError() {
        do {
            _ = try GGUFFile(path: "/nonexistent/model.gguf")
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("/nonexistent/model.gguf"))
        }
    }

    /// Seeded random corruption of the real file's header: every outcome is an error or a
    /// successful parse, never a trap. Truncations at random lengths too.
    @Test func mutatedRealHeaderNeverTraps() throws {
        let real = try GGUFFile(path: TestPaths.defaultModel)
        let headerEnd = real.tensors.map(\.fileOffset).min()!
        let header = Array(UnsafeRawBufferPointer(start: real.file.base, count: headerEnd + 4096))
        var rng = SplitMix64(seed: 0x5EED)
        var errors = 0, successes = 0
        for round in 0..<300 {
            var bytes = header
            if round % 3 == 0 {
                bytes.removeLast(bytes.count - Int(rng.next() % UInt64(bytes.count)))
            } else {
                for _ in 0..<(1 + rng.next() % 8) {
                    // Bias towards the start, where the counts, types and lengths live.
                    let span = rng.next() % 2 == 0 ? 4096 : bytes.count
                    let i = Int(rng.next() % UInt64(min(span, bytes.count)))
                    bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                }
                // Point into the tensor-info table too.
                let i = headerEnd - Int(rng.next() % 8192)
                bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            do { _ = try GGUFFile(file: MappedFile(copying: bytes)); successes += 1 } catch { errors += 1 }
        }
        #expect(errors > 0)
        #expect(errors + successes == 300)
    }
}

