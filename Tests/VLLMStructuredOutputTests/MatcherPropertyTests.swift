import Testing
import VLLMTestSupport
@testable import VLLMStructuredOutput

/// Random grammars, random vocabularies (with tokens that split UTF-8 characters), random walks:
/// at every step a token is allowed exactly when the output with its bytes is a prefix of some
/// complete match (by the reference Earley recognizer), and the stop token exactly when the output
/// is complete. Rollback returns to the same masks, and a cache shared with another matcher
/// changes nothing.
@Suite struct MatcherPropertyTests {
    static let alphabet: [UInt32] = [0x61, 0x62, 0x63, 0x7B, 0x22, 0xE9, 0x4E2D, 0x1F600]

    static func randomSet(_ rng: inout SeededGenerator) -> CodePointSet {
        var set = CodePointSet()
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let a = alphabet.randomElement(using: &rng)!, b = alphabet.randomElement(using: &rng)!
            set.insert(min(a, b)...max(a, b))
        }
        return Bool.random(using: &rng) && Int.random(in: 0..<4, using: &rng) == 0 ? set.complement() : set
    }

    static func randomExpr(_ rng: inout SeededGenerator, rules: Int, depth: Int) -> GrammarExpr {
        let pick = depth > 3 ? Int.random(in: 0..<3, using: &rng) : Int.random(in: 0..<7, using: &rng)
        switch pick {
        case 0:
            let n = Int.random(in: 0...2, using: &rng)
            var s = ""
            for _ in 0..<n { s.unicodeScalars.append(Unicode.Scalar(alphabet.randomElement(using: &rng)!)!) }
            return .literal(s)
        case 1: return .charClass(randomSet(&rng))
        case 2: return .rule(Int.random(in: 0..<rules, using: &rng))
        case 3, 4:
            return .sequence((0..<Int.random(in: 2...3, using: &rng)).map { _ in randomExpr(&rng, rules: rules, depth: depth + 1) })
        case 5:
            return .choice((0..<Int.random(in: 2...3, using: &rng)).map { _ in randomExpr(&rng, rules: rules, depth: depth + 1) })
        default:
            let lo = Int.random(in: 0...2, using: &rng)
            let hi: Int? = Bool.random(using: &rng) ? nil : lo + Int.random(in: 0...2, using: &rng)
            return .repetition(randomExpr(&rng, rules: rules, depth: depth + 1), min: lo, max: hi)
        }
    }

    static func randomGrammar(_ rng: inout SeededGenerator) -> Grammar {
        var g = Grammar()
        let n = Int.random(in: 1...4, using: &rng)
        for i in 0..<n { g.addRule("r\(i)") }
        for i in 0..<n { g.setBody(i, randomExpr(&rng, rules: n, depth: 0)) }
        return g
    }

    /// Every byte of the alphabet's encodings alone (so any continuation can be spelled), plus
    /// random runs of characters and of raw bytes; id 0 is the stop token.
    static func randomVocabulary(_ rng: inout SeededGenerator) -> [[UInt8]] {
        var bytes = Set<UInt8>()
        for c in alphabet { for b in CodePointSet.encodeUTF8(c) { bytes.insert(b) } }
        var tokens: [[UInt8]] = [Array("<eos>".utf8)]
        tokens += bytes.sorted().map { [$0] }
        let all = alphabet.flatMap { CodePointSet.encodeUTF8($0) }
        for _ in 0..<30 {
            if Bool.random(using: &rng) {
                tokens.append((0..<Int.random(in: 1...3, using: &rng)).flatMap { _ in CodePointSet.encodeUTF8(alphabet.randomElement(using: &rng)!) })
            } else {
                let start = Int.random(in: 0..<all.count, using: &rng)
                tokens.append(Array(all[start..<min(all.count, start + Int.random(in: 1...5, using: &rng))]))
            }
        }
        tokens.append([0x78]) // 'x': never in the alphabet
        return tokens
    }

    @Test func masksEqualReferenceOnRandomGrammars() throws {
        var rng = SeededGenerator(seed: 20261205)
        var compiled = 0, refused = 0, steps = 0, allowedSeen = 0, rejectedSeen = 0, completions = 0, capped = 0
        for _ in 0..<200 {
            let g = Self.randomGrammar(&rng)
            let grammar: CompiledGrammar
            do { grammar = try CompiledGrammar(g) } catch {
                refused += 1
                #expect(error.message.contains("left-recursive") || error.message.contains("matches no string"), "\(error)")
                continue
            }
            compiled += 1
            let vocab = Self.randomVocabulary(&rng)
            let info = TokenizerInfo(tokenBytes: vocab, vocabSize: vocab.count + 3, stopTokenIDs: [0])
            let reference = ReferenceRecognizer(g)
            // The matcher under test shares its frames and remembered masks with another one
            // that walked its own random path first; every other grammar has its token tables
            // precomputed, the rest make them as nodes are reached.
            let shared = GrammarMatcherCache(tables: compiled % 2 == 0 ? grammar.tokenTables(for: info) : nil)
            let other = GrammarMatcher(grammar, tokenizer: info, cache: shared)
            for _ in 0..<8 {
                var m = TokenBitmask(vocabSize: info.vocabSize)
                other.fillNextTokenBitmask(&m)
                guard let id = m.allowedIDs.randomElement(using: &rng), other.acceptToken(id), !other.isTerminated else { break }
            }
            let matcher = GrammarMatcher(grammar, tokenizer: info, cache: shared)
            var parse = reference.begin()
            var masks: [TokenBitmask] = []
            var parses: [ReferenceRecognizer.Parse] = []
            for _ in 0..<12 {
                var mask = TokenBitmask(vocabSize: info.vocabSize)
                matcher.fillNextTokenBitmask(&mask)
                // Past the ambiguity limit the mask refuses more than the grammar does (still
                // allowing only valid text); those grammars are counted, not compared.
                if matcher.hitAmbiguityLimit {
                    capped += 1
                    #expect(mask.allowedIDs.allSatisfy { $0 == 0 ? reference.isComplete(parse) : $0 < vocab.count && reference.advance(parse, vocab[$0]) != nil })
                    break
                }
                #expect(matcher.isCompleted == reference.isComplete(parse))
                for id in 0..<info.vocabSize {
                    let expected: Bool
                    if id == 0 { expected = reference.isComplete(parse) }
                    else if id >= vocab.count { expected = false }
                    else { expected = reference.advance(parse, vocab[id]) != nil }
                    #expect(mask.isAllowed(id) == expected, "token \(id) \(vocab.indices.contains(id) ? vocab[id] : [])")
                    if expected { allowedSeen += 1 } else { rejectedSeen += 1 }
                }
                steps += 1
                masks.append(mask)
                parses.append(parse)
                let allowed = mask.allowedIDs
                guard let id = allowed.randomElement(using: &rng) else { break }
                #expect(matcher.acceptToken(id))
                if id == 0 { completions += 1; #expect(matcher.isTerminated); break }
                parse = reference.advance(parse, vocab[id])!
                // A token the mask refuses is refused when fed, and changes nothing.
                if let refusedID = (1..<vocab.count).first(where: { !mask.isAllowed($0) }) {
                    let before = matcher.acceptedTokenCount
                    matcher.rollback(1)
                    #expect(!matcher.acceptToken(refusedID))
                    #expect(matcher.acceptToken(id))
                    #expect(matcher.acceptedTokenCount == before)
                }
            }
            // Rolling back to any earlier step gives that step's mask again.
            let back = Int.random(in: 0..<masks.count, using: &rng)
            matcher.rollback(matcher.acceptedTokenCount - back)
            var again = TokenBitmask(vocabSize: info.vocabSize)
            matcher.fillNextTokenBitmask(&again)
            #expect(again == masks[back])
        }
        #expect(compiled >= 80 && capped * 20 < compiled, "compiled \(compiled), refused \(refused), capped \(capped)")
        #expect(steps > 400 && allowedSeen > 1000 && rejectedSeen > 5000 && completions > 20,
                "steps \(steps) allowed \(allowedSeen) rejected \(rejectedSeen) completions \(completions)")
    }

    @Test func utf8SequencesMatchExactlyTheSetsMembers() {
        var rng = SeededGenerator(seed: 7)
        let probes: [UInt32] = [0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF]
        for _ in 0..<300 {
            var set = CodePointSet()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let a = UInt32.random(in: 0...0x10FFFF, using: &rng)
                let b = Bool.random(using: &rng) ? a + UInt32.random(in: 0...300, using: &rng) : UInt32.random(in: 0...0x10FFFF, using: &rng)
                set.insert(min(a, b)...max(a, b))
            }
            if Bool.random(using: &rng) { set = set.complement() }
            let seqs = set.utf8Sequences()
            var samples = probes
            for r in set.ranges { samples += [r.lowerBound, r.upperBound, r.lowerBound &- 1, r.upperBound + 1] }
            for _ in 0..<50 { samples.append(UInt32.random(in: 0...0x10FFFF, using: &rng)) }
            for v in samples where v <= 0x10FFFF && !(0xD800...0xDFFF).contains(v) {
                let enc = CodePointSet.encodeUTF8(v)
                let matched = seqs.contains { seq in seq.count == enc.count && zip(seq, enc).allSatisfy { $0.contains($1) } }
                #expect(matched == set.contains(v), "U+\(String(v, radix: 16))")
            }
        }
    }
}
