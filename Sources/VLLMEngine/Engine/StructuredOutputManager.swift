import Synchronization
import VLLMStructuredOutput
import VLLMTokenizers

/// The engine core's side of structured outputs (vLLM's `StructuredOutputManager`): a grammar
/// matcher per constrained request, the allowed-token masks of the requests a step samples, and
/// the tokens they then accepted. Grammars arrive compiled: the input processor compiles them
/// on the caller's thread, so a new schema never stalls the running batch.
final class StructuredOutputManager {
    private let vocabulary: GrammarVocabulary
    private var vocabSize: Int { vocabulary.vocabSize }
    private lazy var tokenizerInfo = vocabulary.info
    private var matchers: [String: GrammarMatcher] = [:]
    /// Shared by the requests of one grammar, so a schema's masks are computed once for all of
    /// them; kept while a request uses it, and for the `idleCaches` grammars used last.
    private var caches: [ObjectIdentifier: (grammar: CompiledGrammar, cache: GrammarMatcherCache, users: Int, lastUse: Int)] = [:]
    private var clock = 0
    static let idleCaches = 16
    /// `</think>` with a reasoning parser: a request's constraint starts after it (vLLM:
    /// once the prompt or the output holds it).
    private let reasoningEndTokenID: Int?
    /// Constrained requests still reasoning.
    private var reasoning = Set<String>()

    init(vocabulary: GrammarVocabulary, reasoningEndTokenID: Int? = nil) {
        self.vocabulary = vocabulary
        self.reasoningEndTokenID = reasoningEndTokenID
    }

    func add(_ requestID: String, grammar: CompiledGrammar, promptTokenIDs: [Int] = []) {
        if let end = reasoningEndTokenID, !promptTokenIDs.contains(end) { reasoning.insert(requestID) }
        let key = ObjectIdentifier(grammar)
        clock += 1
        // The tables were made when the request came in (`LLMEngine.processInputs`).
        var entry = caches[key] ?? (grammar, GrammarMatcherCache(tables: grammar.tokenTables(for: tokenizerInfo)), 0, clock)
        entry.users += 1
        entry.lastUse = clock
        caches[key] = entry
        matchers[requestID] = GrammarMatcher(grammar, tokenizer: tokenizerInfo, cache: entry.cache)
    }

    func remove(_ ids: [String]) {
        for id in ids {
            reasoning.remove(id)
            guard let m = matchers.removeValue(forKey: id) else { continue }
            let key = ObjectIdentifier(m.grammar)
            caches[key]?.users -= 1
        }
        let idle = caches.filter { $0.value.users == 0 }
        if idle.count > Self.idleCaches {
            for (key, _) in idle.sorted(by: { $0.value.lastUse < $1.value.lastUse }).prefix(idle.count - Self.idleCaches) {
                caches[key] = nil
            }
        }
    }

    var count: Int { matchers.count }

    /// Whether `requestID` is constrained.
    func isConstrained(_ requestID: String) -> Bool { matchers[requestID] != nil }

    /// Masks for the constrained requests that sample after this step; a grammar that has
    /// ended (its stop token was accepted under `ignore_eos`) no longer constrains.
    func bitmasks(for output: SchedulerOutput) -> [String: TokenBitmask] {
        guard !matchers.isEmpty else { return [:] }
        var out: [String: TokenBitmask] = [:]
        for s in output.scheduled where s.samplesAfterStep {
            guard let m = matchers[s.requestID], !m.isTerminated, !reasoning.contains(s.requestID) else { continue }
            var mask = TokenBitmask(vocabSize: vocabSize)
            m.fillNextTokenBitmask(&mask)
            out[s.requestID] = mask
        }
        return out
    }

    /// Feeds each request's new tokens to its grammar; forgets finished requests.
    func accept(_ updates: [RequestUpdate]) {
        guard !matchers.isEmpty else { return }
        for u in updates {
            if let m = matchers[u.requestID] {
                var tokens = u.newTokenIDs[...]
                if reasoning.contains(u.requestID) {
                    // Still reasoning: the constraint starts after the end-of-reasoning token.
                    guard let end = tokens.firstIndex(of: reasoningEndTokenID!) else { continue }
                    reasoning.remove(u.requestID)
                    tokens = tokens[(end + 1)...]
                }
                for t in tokens where !m.isTerminated {
                    // The mask allowed it, so this only fails for a token sampled when every
                    // token was masked (min_tokens forbidding the stop token of a finished
                    // grammar); the grammar then stays where it was.
                    _ = m.acceptToken(t)
                }
            }
        }
        remove(updates.filter(\.isFinished).map(\.requestID))
    }
}

/// The model's vocabulary as grammars see it, built on first use (sorting the vocabulary takes a
/// moment) by whichever thread needs it first: the input processor making a constraint's token
/// tables, or the engine core.
final class GrammarVocabulary: Sendable {
    private let tokenizer: Tokenizer
    let vocabSize: Int
    private let built = Mutex<TokenizerInfo?>(nil)

    init(tokenizer: Tokenizer, vocabSize: Int) {
        self.tokenizer = tokenizer
        self.vocabSize = vocabSize
    }

    var info: TokenizerInfo {
        built.withLock { info in
            if let info { return info }
            let made = TokenizerInfo(tokenizer: tokenizer, vocabSize: vocabSize)
            info = made
            return made
        }
    }
}

extension TokenizerInfo {
    /// The model's vocabulary for grammars: each token's bytes, the tokenizer's EOS as the stop
    /// token, control tokens never allowed; ids past the tokenizer's vocabulary (padding rows of
    /// the output layer) never allowed.
    public init(tokenizer: Tokenizer, vocabSize: Int) {
        let n = min(tokenizer.vocabSize, vocabSize)
        var bytes: [[UInt8]] = []
        bytes.reserveCapacity(n)
        var excluded = Set<Int>()
        for id in 0..<n {
            bytes.append(tokenizer.tokenBytes(id))
            if tokenizer.isSpecial(id) && id != tokenizer.eosTokenID { excluded.insert(id) }
        }
        self.init(tokenBytes: bytes, vocabSize: vocabSize, stopTokenIDs: tokenizer.eosTokenID.map { [$0] } ?? [],
                  excludedTokenIDs: excluded)
    }
}
