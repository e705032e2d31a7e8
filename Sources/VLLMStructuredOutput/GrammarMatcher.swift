/// The state of one constrained output: a pushdown automaton over `CompiledGrammar`, fed token
/// by token, that answers which tokens may come next (vLLM's `StructuredOutputGrammar`:
/// `accept_tokens`, `fill_bitmask`, `rollback`, `is_terminated`).
///
/// A parse position is a set of stacks: the node being read and, below it, the nodes to return to
/// when the called rules end. Return frames are interned, so a stack is two integers and a
/// position is hashable — masks are remembered per position (in a `GrammarMatcherCache`, which
/// matchers of the same grammar and vocabulary may share), and an output that passes the same
/// position again (every character of a string, every element of an array, the same field of
/// another request's output) reuses its mask.
public final class GrammarMatcher {
    public let grammar: CompiledGrammar
    public let tokenizer: TokenizerInfo

    struct Stack: Hashable, Comparable {
        var node: Int32
        /// Interned return frame, -1 at the bottom.
        var parent: Int32
        static func < (a: Stack, b: Stack) -> Bool { (a.node, a.parent) < (b.node, b.parent) }
    }

    struct Position: Hashable {
        /// Stacks whose node reads a byte next, sorted.
        var stacks: [Stack]
        /// The output so far is complete.
        var complete: Bool
    }

    /// Interned frames and remembered masks; shared by the matchers given the same one.
    let cache: GrammarMatcherCache
    /// Positions after each accepted token; the first is the start.
    private var history: [Position]
    public private(set) var isTerminated = false

    /// - Parameter cache: shared by matchers of this grammar on this vocabulary (not across
    ///   threads); nil: a fresh one.
    public init(_ grammar: CompiledGrammar, tokenizer: TokenizerInfo, cache: GrammarMatcherCache? = nil) {
        self.grammar = grammar
        self.tokenizer = tokenizer
        self.cache = cache ?? GrammarMatcherCache()
        history = []
        history = [closure([Stack(node: grammar.ruleStart[Int(grammar.rootRule)], parent: -1)]) ?? Position(stacks: [], complete: false)]
    }

    private var position: Position { history[history.count - 1] }

    /// The output so far is a complete match (a stop token would be accepted).
    public var isCompleted: Bool { position.complete }

    /// Tokens accepted since the start (a stop token included).
    public var acceptedTokenCount: Int { history.count - 1 }

    /// Feeds one token; false (and no change) when the grammar does not allow it here.
    @discardableResult
    public func acceptToken(_ id: Int) -> Bool {
        guard !isTerminated else { return false }
        switch tokenizer.kind(id) {
        case .never: return false
        case .stop:
            guard position.complete else { return false }
            history.append(Position(stacks: [], complete: true))
            isTerminated = true
            return true
        case .text:
            guard let next = advance(position, bytes: tokenizer.tokenBytes(id)) else { return false }
            history.append(next)
            return true
        }
    }

    /// Feeds raw text (not a token); false (and no change) when it does not fit.
    @discardableResult
    public func acceptString(_ text: String) -> Bool {
        guard !isTerminated, let next = advance(position, bytes: Array(text.utf8)[...]) else { return false }
        history.append(next)
        return true
    }

    /// Undoes the last `count` accepted tokens (or strings).
    public func rollback(_ count: Int) {
        let n = min(count, history.count - 1)
        guard n > 0 else { return }
        history.removeLast(n)
        isTerminated = false
    }

    public func reset() { rollback(history.count - 1) }

    /// The tokens allowed next: text tokens whose bytes extend the output to a prefix of some
    /// complete match, and the stop tokens when the output is complete. After termination,
    /// nothing.
    public func fillNextTokenBitmask(_ mask: inout TokenBitmask) {
        precondition(mask.vocabSize == tokenizer.vocabSize, "mask width differs from the vocabulary")
        guard !isTerminated else {
            for i in mask.words.indices { mask.words[i] = 0 }
            return
        }
        let here = position
        if let cached = cache.masks[here] {
            mask.words = cached
            return
        }
        // A token is allowed when some stack reads all its bytes. Most are decided by the top
        // node alone (the node's table); only those that may end the node's rule part-way
        // through need the stacks below, and are walked from here.
        for i in mask.words.indices { mask.words[i] = 0 }
        var uncertain: [Int32] = []
        for s in here.stacks {
            let table = nodeTokens(s.node)
            table.addAccepted(to: &mask.words, textTokens: tokenizer.textTokenWords)
            uncertain.append(contentsOf: table.uncertain)
        }
        for id in uncertain where !mask.isAllowed(Int(id)) {
            if advance(here, bytes: tokenizer.tokenBytes(Int(id))) != nil { mask.allow(Int(id)) }
        }
        if here.complete { for id in tokenizer.stopTokenIDs { mask.allow(id) } }
        cache.remember(here, mask.words)
    }

    /// Which of `ids` the grammar would accept in order from here: the length of the longest
    /// accepted prefix (vLLM's `validate_tokens`, for draft tokens). Leaves the state unchanged.
    public func validateTokens(_ ids: [Int]) -> Int {
        var n = 0
        for id in ids {
            guard acceptToken(id) else { break }
            n += 1
        }
        rollback(n)
        return n
    }

    // MARK: - Automaton

    /// The parent of a node's own walk: a rule that ends below it returns into a context the
    /// walk does not know.
    private static let unknownContext: Int32 = -2

    /// `node`'s tokens: from the grammar's precomputed tables, else computed here and kept in
    /// the cache.
    func nodeTokens(_ node: Int32) -> NodeTokens {
        if let known = cache.tables?.nodes[Int(node)] ?? cache.nodeTokens[node] { return known }
        let table = computeNodeTokens(node)
        cache.remember(node, table)
        return table
    }

    /// Which tokens `node` decides on its own (xgrammar's adaptive token mask): walked from the
    /// node with an unknown context below, a token is accepted when some path reads all its
    /// bytes, uncertain when it is not but some path ended the node's rule before failing (the
    /// context may read the rest), rejected otherwise. Tokens go in byte order: each starts from
    /// the position after the bytes it shares with the previous token, and a token that shares
    /// the bytes where the previous one failed fails there too (a refused first byte skips its
    /// whole group).
    func computeNodeTokens(_ node: Int32) -> NodeTokens {
        var accepted: [Int32] = [], uncertain: [Int32] = []
        // The position after d bytes of the current token: `single[d]` when it is one stack
        // that only reads bytes (most positions inside a string or a number: no allocation),
        // else `depth[d]`, in which `complete` means a path ended the node's rule.
        // escaped[d]: some path ended it within the first d bytes.
        var single: [Stack?] = [Stack(node: node, parent: Self.unknownContext)]
        var depth = [Position(stacks: [], complete: false)]
        var escaped = [false]
        var reached = 0 // positions 0...reached are the previous token's
        // A token whose walk hit the ambiguity limit here is left to the position's own walk.
        let limitBefore = hitAmbiguityLimit
        defer { hitAmbiguityLimit = limitBefore }
        var failedAtLimit = false
        let g = grammar
        let tokenStart = tokenizer.start, firstByteEnd = tokenizer.firstByteEnd
        tokenizer.bytes.withUnsafeBufferPointer { allBytes in
        tokenizer.sortedIDs.withUnsafeBufferPointer { ids in
        tokenizer.sharedPrefix.withUnsafeBufferPointer { shared in
            var k = 0
            while k < ids.count {
                let id = ids[k]
                let common = Int(shared[k])
                if common > reached {
                    if escaped[reached] || failedAtLimit { uncertain.append(id) }
                    k += 1
                    continue
                }
                let base = Int(tokenStart[Int(id)]), count = Int(tokenStart[Int(id) + 1]) - base
                var d = common
                hitAmbiguityLimit = false
                while d < count {
                    let byte = allBytes[base + d]
                    var nextSingle: Stack?
                    var next = Position(stacks: [], complete: false)
                    if let s = single[d] {
                        let t = g.next(s.node, byte)
                        if t < 0 { break }
                        if g.isPlainScan(t) {
                            nextSingle = Stack(node: t, parent: s.parent)
                        } else {
                            guard let p = closure([Stack(node: t, parent: s.parent)]) else { hitAmbiguityLimit = true; break }
                            next = p
                        }
                    } else {
                        guard let p = step(depth[d], byte) else { break }
                        next = p
                    }
                    if single.count > d + 1 {
                        single[d + 1] = nextSingle
                        depth[d + 1] = next
                        escaped[d + 1] = escaped[d] || next.complete
                    } else {
                        single.append(nextSingle)
                        depth.append(next)
                        escaped.append(escaped[d] || next.complete)
                    }
                    d += 1
                }
                reached = d
                failedAtLimit = d < count && hitAmbiguityLimit
                if d == count {
                    accepted.append(id)
                } else if escaped[d] || failedAtLimit {
                    uncertain.append(id)
                } else if d == 0 {
                    // The node refuses this first byte: so every token that starts with it.
                    k = Int(firstByteEnd[Int(allBytes[base])])
                    continue
                }
                k += 1
            }
        }
        }
        }
        return NodeTokens(accepted: accepted, uncertain: uncertain, tokenizer: tokenizer)
    }

    private func advance(_ from: Position, bytes: ArraySlice<UInt8>) -> Position? {
        var p = from
        for b in bytes {
            guard let next = step(p, b) else { return nil }
            p = next
        }
        return p
    }

    /// The most parse stacks one position may hold. An ambiguous grammar can multiply them with
    /// every byte (e.g. nested repetitions of rules that match the same text); past this, the
    /// byte is refused, which keeps every output valid but may refuse valid continuations.
    public static let maxStacks = 4096

    /// Some continuation was refused because of `maxStacks`.
    public private(set) var hitAmbiguityLimit = false

    /// The position after one byte, or nil if no stack reads it.
    private func step(_ from: Position, _ byte: UInt8) -> Position? {
        var seeds: [Stack] = []
        for s in from.stacks {
            let t = grammar.next(s.node, byte)
            if t >= 0 { seeds.append(Stack(node: t, parent: s.parent)) }
        }
        guard !seeds.isEmpty else { return nil }
        guard let next = closure(seeds) else {
            hitAmbiguityLimit = true
            return nil
        }
        return next
    }

    /// Expands rule calls and returns from ended rules until every stack reads a byte next;
    /// nil past `maxStacks`.
    private func closure(_ seeds: [Stack]) -> Position? {
        // Most bytes (inside a string, a number, a literal) land on nodes that only read on.
        if seeds.allSatisfy({ grammar.isPlainScan($0.node) }) {
            var out = seeds
            if out.count > 1 {
                out.sort()
                var unique: [Stack] = [out[0]]
                for s in out.dropFirst() where s != unique[unique.count - 1] { unique.append(s) }
                out = unique
            }
            return Position(stacks: out, complete: false)
        }
        var out: [Stack] = []
        var seen = Set<Stack>()
        var work = seeds
        var complete = false
        while let s = work.popLast() {
            guard seen.insert(s).inserted else { continue }
            if seen.count > 4 * Self.maxStacks { return nil }
            if grammar.scans(s.node) { out.append(s) }
            let node = Int(s.node)
            for c in Int(grammar.callStart[node])..<Int(grammar.callStart[node + 1]) {
                let call = grammar.calls[c]
                let ret = intern(Stack(node: call.next, parent: s.parent))
                work.append(Stack(node: grammar.ruleStart[Int(call.rule)], parent: ret))
            }
            // At the bottom, the output (or, in a node's own walk, the node's rule) may end.
            if grammar.accepting[node] {
                if s.parent < 0 { complete = true } else { work.append(cache.frames[Int(s.parent)]) }
            }
        }
        guard out.count <= Self.maxStacks else { return nil }
        out.sort()
        return Position(stacks: out, complete: complete)
    }

    private func intern(_ frame: Stack) -> Int32 {
        if let id = cache.frameIDs[frame] { return id }
        let id = Int32(cache.frames.count)
        cache.frames.append(frame)
        cache.frameIDs[frame] = id
        return id
    }
}

/// A node's tokens: those it accepts whatever lies below it, and those that depend on it (the
/// rest it rejects). Accepted tokens are kept in the smallest of three forms: their ids, the
/// ids of the text tokens that are not accepted (inside a string almost all are), or a mask.
struct NodeTokens: Sendable {
    enum Accepted: Sendable { case ids([Int32]), allTextExcept([Int32]), mask([UInt32]) }
    let accepted: Accepted
    let uncertain: [Int32]

    init(accepted: [Int32], uncertain: [Int32], tokenizer: TokenizerInfo) {
        self.uncertain = uncertain
        let words = tokenizer.textTokenWords.count
        let others = tokenizer.sortedIDs.count - accepted.count
        if accepted.count <= others && accepted.count <= words {
            self.accepted = .ids(accepted)
            return
        }
        var mask = TokenBitmask(vocabSize: tokenizer.vocabSize)
        for id in accepted { mask.allow(Int(id)) }
        if others <= words {
            self.accepted = .allTextExcept(tokenizer.sortedIDs.filter { !mask.isAllowed(Int($0)) })
        } else {
            self.accepted = .mask(mask.words)
        }
    }

    var bytes: Int {
        switch accepted {
        case let .ids(ids), let .allTextExcept(ids): 4 * (ids.count + uncertain.count)
        case let .mask(words): 4 * (words.count + uncertain.count)
        }
    }

    func addAccepted(to words: inout [UInt32], textTokens: [UInt32]) {
        switch accepted {
        case let .ids(ids):
            for id in ids { words[Int(id) >> 5] |= 1 << UInt32(id & 31) }
        case let .allTextExcept(ids):
            var add = textTokens
            for id in ids { add[Int(id) >> 5] &= ~(1 << UInt32(id & 31)) }
            for i in words.indices { words[i] |= add[i] }
        case let .mask(mask):
            for i in words.indices { words[i] |= mask[i] }
        }
    }
}

/// Return frames, node token tables and masks by parse position for the matchers of one grammar
/// on one vocabulary. Frames are never forgotten (a live matcher's positions refer to them);
/// tables and masks are, all at once, past `maxMaskBytes`. Not thread-safe: its matchers run on
/// one thread.
public final class GrammarMatcherCache {
    var frames: [GrammarMatcher.Stack] = []
    var frameIDs: [GrammarMatcher.Stack: Int32] = [:]
    var masks: [GrammarMatcher.Position: [UInt32]] = [:]
    var nodeTokens: [Int32: NodeTokens] = [:]
    /// Every node's tokens, precomputed (`CompiledGrammar.tokenTables(for:)`); nil: computed
    /// as nodes are first reached.
    let tables: GrammarTokenTables?
    private var bytes = 0
    public let maxMaskBytes: Int

    public init(maxMaskBytes: Int = 16 << 20, tables: GrammarTokenTables? = nil) {
        self.maxMaskBytes = maxMaskBytes
        self.tables = tables
    }

    func remember(_ position: GrammarMatcher.Position, _ words: [UInt32]) {
        makeRoom(4 * words.count)
        masks[position] = words
    }

    func remember(_ node: Int32, _ table: NodeTokens) {
        makeRoom(table.bytes)
        nodeTokens[node] = table
    }

    private func makeRoom(_ more: Int) {
        if bytes + more > maxMaskBytes {
            masks.removeAll(keepingCapacity: true)
            nodeTokens.removeAll(keepingCapacity: true)
            bytes = 0
        }
        bytes += more
    }

    /// Masks remembered now.
    public var maskCount: Int { masks.count }
}
