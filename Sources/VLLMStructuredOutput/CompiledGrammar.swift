import Synchronization

/// A grammar as one deterministic automaton per rule, over bytes and rule calls: the form
/// `GrammarMatcher` runs as a pushdown automaton. Nodes are numbered across all rules.
///
/// Compiling removes what can never be part of a complete output (rules that match no string,
/// nodes from which a rule cannot end), so every prefix the matcher accepts extends to a complete
/// output — the property a token mask needs. Left recursion is refused: the matcher expands
/// rule calls eagerly and would not terminate.
public final class CompiledGrammar: Sendable {
    struct Call: Sendable { let rule: Int32; let next: Int32 }

    let ruleNames: [String]
    let rootRule: Int32
    let ruleStart: [Int32]
    let accepting: [Bool]
    /// Byte transitions of node n: `rangeLo/Hi/To[rangeStart[n]..<rangeStart[n + 1]]`, sorted.
    let rangeStart: [Int32]
    let rangeLo: [UInt8]
    let rangeHi: [UInt8]
    let rangeTo: [Int32]
    /// Rule calls of node n: `calls[callStart[n]..<callStart[n + 1]]`.
    let callStart: [Int32]
    let calls: [Call]

    /// The most automaton states one grammar may expand into (bounded repetitions and character
    /// classes multiply them); past it the grammar is refused rather than exhausting memory.
    public static let maxStates = 200_000

    public var nodeCount: Int { accepting.count }

    /// Token tables by vocabulary (`TokenizerInfo.identity`), made on first use: a compiled
    /// grammar is shared by every request with the same constraint.
    private let tables = Mutex<[Int: GrammarTokenTables]>([:])

    /// Every node's tokens on `tokenizer`'s vocabulary, computed on the first call (by the
    /// thread that makes it; others asking for the same wait for it) and kept with the grammar.
    /// Bytes of the token tables made so far.
    public var tableBytes: Int { tables.withLock { $0.values.reduce(0) { $0 + $1.bytes } } }

    public func tokenTables(for tokenizer: TokenizerInfo) -> GrammarTokenTables {
        tables.withLock { known in
            if let t = known[tokenizer.identity] { return t }
            let t = GrammarTokenTables(self, tokenizer: tokenizer)
            known[tokenizer.identity] = t
            return t
        }
    }

    public init(_ grammar: Grammar) throws(GrammarError) {
        guard !grammar.rules.isEmpty else { throw GrammarError("the grammar has no rules") }
        var budget = Self.maxStates
        var dfas: [RuleDFA] = []
        for rule in grammar.rules {
            var nfa = RuleNFA(budget: budget)
            let end = try nfa.build(rule.body, from: 0)
            nfa.final = end
            let dfa = try RuleDFA(nfa, budget: budget)
            budget -= nfa.stateCount + dfa.nodes.count
            dfas.append(dfa)
        }
        let (productive, live) = Self.liveness(dfas)
        guard productive[grammar.root] else {
            throw GrammarError("the grammar matches no string (rule '\(grammar.rules[grammar.root].name)' cannot be completed)")
        }
        try Self.refuseLeftRecursion(dfas, productive: productive, names: grammar.rules.map(\.name))

        // Number the nodes globally, dropping dead transitions.
        var offset: [Int32] = []
        var total: Int32 = 0
        for d in dfas { offset.append(total); total += Int32(d.nodes.count) }
        var accepting: [Bool] = [], rangeStart: [Int32] = [0], rangeLo: [UInt8] = [], rangeHi: [UInt8] = []
        var rangeTo: [Int32] = [], callStart: [Int32] = [0], calls: [Call] = []
        for (r, d) in dfas.enumerated() {
            for (n, node) in d.nodes.enumerated() {
                accepting.append(node.accepting && live[r][n])
                if live[r][n] {
                    for t in node.ranges where live[r][t.to] {
                        rangeLo.append(t.lo); rangeHi.append(t.hi); rangeTo.append(offset[r] + Int32(t.to))
                    }
                    for c in node.calls where productive[c.rule] && live[r][c.to] {
                        calls.append(Call(rule: Int32(c.rule), next: offset[r] + Int32(c.to)))
                    }
                }
                rangeStart.append(Int32(rangeLo.count))
                callStart.append(Int32(calls.count))
            }
        }
        ruleNames = grammar.rules.map(\.name)
        rootRule = Int32(grammar.root)
        ruleStart = offset
        self.accepting = accepting
        self.rangeStart = rangeStart
        self.rangeLo = rangeLo
        self.rangeHi = rangeHi
        self.rangeTo = rangeTo
        self.callStart = callStart
        self.calls = calls
    }

    /// The node reached from `node` by `byte`, or -1.
    @inline(__always)
    func next(_ node: Int32, _ byte: UInt8) -> Int32 {
        var i = Int(rangeStart[Int(node)])
        let end = Int(rangeStart[Int(node) + 1])
        while i < end {
            if byte < rangeLo[i] { return -1 }
            if byte <= rangeHi[i] { return rangeTo[i] }
            i += 1
        }
        return -1
    }

    @inline(__always)
    func scans(_ node: Int32) -> Bool { rangeStart[Int(node)] < rangeStart[Int(node) + 1] }

    /// Reads a byte next and neither calls a rule nor may end its own.
    @inline(__always)
    func isPlainScan(_ node: Int32) -> Bool {
        let n = Int(node)
        return rangeStart[n] < rangeStart[n + 1] && !accepting[n] && callStart[n] == callStart[n + 1]
    }

    /// Which rules can complete, and which nodes of each rule can still reach the rule's end.
    private static func liveness(_ dfas: [RuleDFA]) -> (productive: [Bool], live: [[Bool]]) {
        var productive = [Bool](repeating: false, count: dfas.count)
        var live = dfas.map { d in d.nodes.map(\.accepting) }
        var changed = true
        while changed {
            changed = false
            for (r, d) in dfas.enumerated() {
                for (n, node) in d.nodes.enumerated() where !live[r][n] {
                    if node.ranges.contains(where: { live[r][$0.to] })
                        || node.calls.contains(where: { productive[$0.rule] && live[r][$0.to] }) {
                        live[r][n] = true
                        changed = true
                    }
                }
                if !productive[r] && live[r][0] {
                    productive[r] = true
                    changed = true
                }
            }
        }
        return (productive, live)
    }

    /// Throws when a rule can reach a call of itself without reading a byte.
    private static func refuseLeftRecursion(_ dfas: [RuleDFA], productive: [Bool], names: [String]) throws(GrammarError) {
        // A rule is nullable when its start reaches its end through calls of nullable rules only.
        var nullable = [Bool](repeating: false, count: dfas.count)
        var changed = true
        while changed {
            changed = false
            for (r, d) in dfas.enumerated() where !nullable[r] {
                var seen: Set<Int> = [0], work = [0]
                while let n = work.popLast() {
                    if d.nodes[n].accepting { nullable[r] = true; changed = true; break }
                    for c in d.nodes[n].calls where nullable[c.rule] && seen.insert(c.to).inserted { work.append(c.to) }
                }
            }
        }
        // Rules called before any byte is read.
        var leftCalls: [[Int]] = []
        for d in dfas {
            var seen: Set<Int> = [0], work = [0], callees: Set<Int> = []
            while let n = work.popLast() {
                for c in d.nodes[n].calls where productive[c.rule] {
                    callees.insert(c.rule)
                    if nullable[c.rule] && seen.insert(c.to).inserted { work.append(c.to) }
                }
            }
            leftCalls.append(callees.sorted())
        }
        // A cycle in that graph is left recursion.
        var mark = [UInt8](repeating: 0, count: dfas.count) // 0 new, 1 on the path, 2 done
        for start in 0..<dfas.count where mark[start] == 0 {
            var path: [(rule: Int, next: Int)] = [(start, 0)]
            mark[start] = 1
            while let top = path.last {
                if top.next < leftCalls[top.rule].count {
                    path[path.count - 1].next += 1
                    let c = leftCalls[top.rule][top.next]
                    if mark[c] == 1 { throw GrammarError("rule '\(names[c])' is left-recursive (it can reach itself before matching any character), which is not supported") }
                    if mark[c] == 0 { mark[c] = 1; path.append((c, 0)) }
                } else {
                    mark[top.rule] = 2
                    path.removeLast()
                }
            }
        }
    }
}

/// Thompson construction of one rule's body: byte-range, rule-call and empty transitions.
struct RuleNFA {
    var byteEdges: [[(lo: UInt8, hi: UInt8, to: Int)]] = [[]]
    var callEdges: [[(rule: Int, to: Int)]] = [[]]
    var epsilon: [[Int]] = [[]]
    var final = 0
    let budget: Int

    init(budget: Int) { self.budget = budget }

    var stateCount: Int { epsilon.count }

    mutating func newState() throws(GrammarError) -> Int {
        guard epsilon.count < budget else {
            throw GrammarError("the grammar is too large (over \(CompiledGrammar.maxStates) automaton states; large repetition counts multiply it)")
        }
        byteEdges.append([]); callEdges.append([]); epsilon.append([])
        return epsilon.count - 1
    }

    /// Adds transitions matching `e` from `start`; returns the state where a match ends.
    mutating func build(_ e: GrammarExpr, from start: Int) throws(GrammarError) -> Int {
        switch e {
        case let .bytes(bs):
            var cur = start
            for b in bs {
                let n = try newState()
                byteEdges[cur].append((b, b, n))
                cur = n
            }
            return cur
        case let .charClass(set):
            let end = try newState()
            for seq in set.utf8Sequences() {
                var cur = start
                for (i, r) in seq.enumerated() {
                    var n = end
                    if i < seq.count - 1 { n = try newState() }
                    byteEdges[cur].append((r.lowerBound, r.upperBound, n))
                    cur = n
                }
            }
            return end
        case let .rule(r):
            let n = try newState()
            callEdges[start].append((r, n))
            return n
        case let .sequence(items):
            var cur = start
            for x in items { cur = try build(x, from: cur) }
            return cur
        case let .choice(options):
            let end = try newState()
            for x in options {
                let a = try newState()
                epsilon[start].append(a)
                let e = try build(x, from: a)
                epsilon[e].append(end)
            }
            return end
        case let .repetition(x, lo, hi):
            var cur = start
            for _ in 0..<lo { cur = try build(x, from: cur) }
            guard let hi else {
                let loop = try newState()
                epsilon[cur].append(loop)
                let e = try build(x, from: loop)
                epsilon[e].append(loop)
                return loop
            }
            let end = try newState()
            epsilon[cur].append(end)
            if hi > lo {
                for _ in lo..<hi {
                    cur = try build(x, from: cur)
                    epsilon[cur].append(end)
                }
            }
            return end
        }
    }
}

/// Subset construction of a `RuleNFA`: rule calls are symbols like bytes. Node 0 is the start.
struct RuleDFA {
    struct Node {
        var accepting = false
        var ranges: [(lo: UInt8, hi: UInt8, to: Int)] = []
        var calls: [(rule: Int, to: Int)] = []
    }
    var nodes: [Node] = []

    init(_ nfa: RuleNFA, budget: Int) throws(GrammarError) {
        var index: [[Int]: Int] = [:]
        var sets: [[Int]] = []
        var nodes: [Node] = []
        func closure(_ seeds: [Int]) -> [Int] {
            var seen = Set(seeds), work = seeds
            while let s = work.popLast() {
                for t in nfa.epsilon[s] where seen.insert(t).inserted { work.append(t) }
            }
            return seen.sorted()
        }
        func id(_ set: [Int]) throws(GrammarError) -> Int {
            if let i = index[set] { return i }
            guard sets.count + nfa.stateCount < budget else {
                throw GrammarError("the grammar is too large (over \(CompiledGrammar.maxStates) automaton states)")
            }
            index[set] = sets.count
            sets.append(set)
            nodes.append(Node())
            return sets.count - 1
        }
        _ = try id(closure([0]))
        var i = 0
        while i < sets.count {
            let set = sets[i]
            var node = Node(accepting: set.contains(nfa.final))
            // Bytes: cut the 0...255 line at every range edge; each piece has one target set.
            var edges: [(lo: UInt8, hi: UInt8, to: Int)] = []
            for s in set { edges += nfa.byteEdges[s] }
            if !edges.isEmpty {
                var cuts = Set<Int>()
                for e in edges { cuts.insert(Int(e.lo)); cuts.insert(Int(e.hi) + 1) }
                let points = cuts.sorted()
                for k in 0..<(points.count - 1) {
                    let lo = points[k], hi = points[k + 1] - 1
                    let targets = edges.filter { Int($0.lo) <= lo && hi <= Int($0.hi) }.map(\.to)
                    guard !targets.isEmpty else { continue }
                    let to = try id(closure(targets))
                    if let last = node.ranges.last, Int(last.hi) + 1 == lo, last.to == to {
                        node.ranges[node.ranges.count - 1].hi = UInt8(hi)
                    } else {
                        node.ranges.append((UInt8(lo), UInt8(hi), to))
                    }
                }
            }
            var byRule: [Int: [Int]] = [:]
            for s in set { for c in nfa.callEdges[s] { byRule[c.rule, default: []].append(c.to) } }
            for r in byRule.keys.sorted() {
                let to = try id(closure(byRule[r]!))
                node.calls.append((r, to))
            }
            nodes[i] = node
            i += 1
        }
        self.nodes = nodes
    }
}
