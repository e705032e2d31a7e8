@testable import VLLMStructuredOutput

/// A slow, independent check of `GrammarMatcher`: an Earley recognizer over bytes, built from the
/// grammar's expressions directly (no automata), with Aycock and Horspool's handling of empty
/// rules. Productions that can never complete are dropped first, so a non-empty item set means
/// the input so far extends to a complete match.
struct ReferenceRecognizer {
    enum Symbol: Hashable { case byte(UInt8, UInt8), nonterminal(Int) }
    struct Production { let lhs: Int; let rhs: [Symbol] }
    struct Item: Hashable { let production: Int; let dot: Int; let origin: Int }

    private(set) var productions: [Production] = []
    private var byLHS: [[Int]] = []
    private var nullable: [Bool] = []
    let start: Int

    init(_ g: Grammar) {
        start = g.root
        var prods: [Production] = []
        var count = g.rules.count
        func fresh() -> Int { count += 1; return count - 1 }
        func lower(_ e: GrammarExpr) -> [Symbol] {
            switch e {
            case let .bytes(bs): return bs.map { .byte($0, $0) }
            case let .charClass(set):
                let n = fresh()
                for seq in set.utf8Sequences() { prods.append(Production(lhs: n, rhs: seq.map { .byte($0.lowerBound, $0.upperBound) })) }
                return [.nonterminal(n)]
            case let .rule(r): return [.nonterminal(r)]
            case let .sequence(items): return items.flatMap(lower)
            case let .choice(options):
                let n = fresh()
                for o in options { prods.append(Production(lhs: n, rhs: lower(o))) }
                return [.nonterminal(n)]
            case let .repetition(x, lo, hi):
                let body = lower(x)
                var out: [Symbol] = []
                for _ in 0..<lo { out += body }
                if let hi {
                    var rest: [Symbol] = []
                    for _ in lo..<max(lo, hi) {
                        let o = fresh()
                        prods.append(Production(lhs: o, rhs: []))
                        prods.append(Production(lhs: o, rhs: body + rest))
                        rest = [.nonterminal(o)]
                    }
                    out += rest
                } else {
                    let s = fresh()
                    prods.append(Production(lhs: s, rhs: []))
                    prods.append(Production(lhs: s, rhs: [.nonterminal(s)] + body))
                    out.append(.nonterminal(s))
                }
                return out
            }
        }
        for (r, rule) in g.rules.enumerated() { prods.append(Production(lhs: r, rhs: lower(rule.body))) }
        // Keep productions whose nonterminals can all complete.
        var productive = [Bool](repeating: false, count: count)
        var changed = true
        while changed {
            changed = false
            for p in prods where !productive[p.lhs] {
                if p.rhs.allSatisfy({ if case let .nonterminal(n) = $0 { return productive[n] }; return true }) {
                    productive[p.lhs] = true
                    changed = true
                }
            }
        }
        productions = prods.filter { p in
            productive[p.lhs] && p.rhs.allSatisfy { if case let .nonterminal(n) = $0 { return productive[n] }; return true }
        }
        byLHS = [[Int]](repeating: [], count: count)
        for (i, p) in productions.enumerated() { byLHS[p.lhs].append(i) }
        nullable = [Bool](repeating: false, count: count)
        changed = true
        while changed {
            changed = false
            for p in productions where !nullable[p.lhs] {
                if p.rhs.allSatisfy({ if case let .nonterminal(n) = $0 { return nullable[n] }; return false }) {
                    nullable[p.lhs] = true
                    changed = true
                }
            }
        }
    }

    /// The item sets after each byte of an input; nil once no item survives.
    struct Parse {
        var sets: [Set<Item>]
    }

    func begin() -> Parse {
        var sets = [Set<Item>()]
        let seeds = byLHS[start].map { Item(production: $0, dot: 0, origin: 0) }
        close(&sets, 0, seeds)
        return Parse(sets: sets)
    }

    func advance(_ parse: Parse, _ bytes: some Sequence<UInt8>) -> Parse? {
        var sets = parse.sets
        for b in bytes {
            let k = sets.count - 1
            var seeds: [Item] = []
            for item in sets[k] {
                let rhs = productions[item.production].rhs
                guard item.dot < rhs.count, case let .byte(lo, hi) = rhs[item.dot], lo <= b && b <= hi else { continue }
                seeds.append(Item(production: item.production, dot: item.dot + 1, origin: item.origin))
            }
            guard !seeds.isEmpty else { return nil }
            sets.append([])
            close(&sets, k + 1, seeds)
        }
        return Parse(sets: sets)
    }

    func isComplete(_ parse: Parse) -> Bool {
        parse.sets[parse.sets.count - 1].contains { item in
            item.origin == 0 && productions[item.production].lhs == start && item.dot == productions[item.production].rhs.count
        }
    }

    private func close(_ sets: inout [Set<Item>], _ k: Int, _ seeds: [Item]) {
        var work = seeds
        while let item = work.popLast() {
            guard sets[k].insert(item).inserted else { continue }
            let p = productions[item.production]
            if item.dot == p.rhs.count {
                // Complete: advance every item of the origin set waiting for this nonterminal.
                for w in Array(sets[item.origin]) {
                    let wr = productions[w.production].rhs
                    if w.dot < wr.count, case let .nonterminal(n) = wr[w.dot], n == p.lhs {
                        work.append(Item(production: w.production, dot: w.dot + 1, origin: w.origin))
                    }
                }
            } else if case let .nonterminal(n) = p.rhs[item.dot] {
                for q in byLHS[n] { work.append(Item(production: q, dot: 0, origin: k)) }
                if nullable[n] { work.append(Item(production: item.production, dot: item.dot + 1, origin: item.origin)) }
            }
        }
    }
}
