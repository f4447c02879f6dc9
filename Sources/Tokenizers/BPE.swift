import Foundation

/// The BPE model of tokenizer.json: a vocabulary and ranked merges.
final class BPEModel: @unchecked Sendable {  // immutable after init except the locked cache
    let vocabulary: [String: Int]
    /// Token string by id (for ids the model has).
    let tokens: [Int: String]
    /// (left id, right id) → (rank, merged id).
    private let merges: [PairKey: (rank: Int, merged: Int)]
    private let unknownID: Int?
    private let fuseUnknown: Bool
    private let byteFallback: Bool
    private let ignoreMerges: Bool
    /// Ids of `<0x00>`…`<0xFF>` when byte fallback is on.
    private let byteTokenIDs: [Int?]

    private let cacheLock = NSLock()
    private var cache: [Substring: [Int]] = [:]
    private static let cacheCapacity = 50_000
    private static let longestCachedWord = 256  // UTF-8 bytes

    struct PairKey: Hashable {
        let left: Int32
        let right: Int32
    }

    init(_ json: JSONObject) throws(TokenizerError) {
        guard json.type == "BPE" || json.isNull("type") else {
            throw TokenizerError(json.path, "model '\(json.type)' is not supported (supported: BPE)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] where !json.isNull(key) {
            if let value = json.values[key] as? String, value.isEmpty { continue }
            throw TokenizerError("\(json.path).\(key)", "is not supported")
        }
        if let dropout = json.values["dropout"] as? Double, dropout > 0 {
            throw TokenizerError("\(json.path).dropout", "BPE dropout is for training; set it to null")
        }
        guard let vocabulary = json.values["vocab"] as? [String: Int] else {
            throw TokenizerError("\(json.path).vocab", "expected an object of token → id")
        }
        if let bad = vocabulary.first(where: { $0.value < 0 || $0.value > Int(Int32.max) }) {
            throw TokenizerError("\(json.path).vocab", "id \(bad.value) of '\(bad.key)' is out of range")
        }
        self.vocabulary = vocabulary
        var tokens: [Int: String] = [:]
        tokens.reserveCapacity(vocabulary.count)
        for (token, id) in vocabulary { tokens[id] = token }
        self.tokens = tokens

        var merges: [PairKey: (rank: Int, merged: Int)] = [:]
        let list = try json.array("merges")
        merges.reserveCapacity(list.count)
        for (rank, entry) in list.enumerated() {
            let pair: [String]
            if let text = entry as? String {
                // Legacy form "a b": the two tokens are separated by the first space.
                guard let space = text.firstIndex(of: " ") else {
                    throw TokenizerError("\(json.path).merges[\(rank)]", "'\(text)' is not two tokens separated by a space")
                }
                pair = [String(text[..<space]), String(text[text.index(after: space)...])]
            } else if let items = entry as? [String], items.count == 2 {
                pair = items
            } else {
                throw TokenizerError("\(json.path).merges[\(rank)]", "expected \"a b\" or [\"a\", \"b\"]")
            }
            guard let left = vocabulary[pair[0]], let right = vocabulary[pair[1]], let merged = vocabulary[pair[0] + pair[1]] else {
                throw TokenizerError("\(json.path).merges[\(rank)]", "merge \(pair) uses a token missing from the vocabulary")
            }
            let key = PairKey(left: Int32(left), right: Int32(right))
            if merges[key] == nil { merges[key] = (rank, merged) }
        }
        self.merges = merges

        if let unknown = try json.optionalString("unk_token") {
            guard let id = vocabulary[unknown] else {
                throw TokenizerError("\(json.path).unk_token", "'\(unknown)' is not in the vocabulary")
            }
            unknownID = id
        } else {
            unknownID = nil
        }
        fuseUnknown = try json.bool("fuse_unk", default: false)
        byteFallback = try json.bool("byte_fallback", default: false)
        ignoreMerges = try json.bool("ignore_merges", default: false)
        byteTokenIDs = (0..<256).map { vocabulary[String(format: "<0x%02X>", $0)] }
    }

    /// The ids of one pre-tokenized word.
    func tokenize(_ word: Substring) throws(TokenizerError) -> [Int] {
        if ignoreMerges, let id = vocabulary[String(word)] { return [id] }
        cacheLock.lock()
        let cached = cache[word]
        cacheLock.unlock()
        if let cached { return cached }
        let ids = try merge(initialSymbols(word))
        // Only short words are kept, as tokenizers does: a long one is rarely seen again, and a
        // request of many would fill memory with them.
        guard word.utf8.count < Self.longestCachedWord else { return ids }
        cacheLock.lock()
        if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        cacheLock.unlock()
        return ids
    }

    /// One symbol per character (Unicode scalar); unknown ones become byte tokens or `unk`.
    private func initialSymbols(_ word: Substring) throws(TokenizerError) -> [Int] {
        var symbols: [Int] = []
        symbols.reserveCapacity(word.unicodeScalars.count)
        var pendingUnknown = false
        for scalar in word.unicodeScalars {
            if let id = vocabulary[String(scalar)] {
                symbols.append(id)
                pendingUnknown = false
                continue
            }
            if byteFallback {
                let bytes = Array(String(scalar).utf8)
                let ids = bytes.compactMap { byteTokenIDs[Int($0)] }
                if ids.count == bytes.count {
                    symbols.append(contentsOf: ids)
                    pendingUnknown = false
                    continue
                }
            }
            guard let unknownID else {
                throw TokenizerError("tokenizer.json", "character U+\(String(scalar.value, radix: 16, uppercase: true)) is not in the vocabulary and there is no unk_token")
            }
            if !(fuseUnknown && pendingUnknown) { symbols.append(unknownID) }
            pendingUnknown = true
        }
        return symbols
    }

    /// Applies merges lowest rank first, leftmost first among equal ranks (tokenizers' `merge_all`).
    private func merge(_ initial: [Int]) -> [Int] {
        let n = initial.count
        if n < 2 { return initial }
        var ids = initial
        var next = Array(1...n)  // n marks the end
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let merge = merges[PairKey(left: Int32(ids[i]), right: Int32(ids[i + 1]))] {
                heap.push(.init(rank: merge.rank, position: i, merged: merge.merged))
            }
        }
        while let candidate = heap.pop() {
            let left = candidate.position
            let right = next[left]
            guard alive[left], right < n,
                  let merge = merges[PairKey(left: Int32(ids[left]), right: Int32(ids[right]))],
                  merge.merged == candidate.merged, merge.rank == candidate.rank else { continue }
            ids[left] = merge.merged
            alive[right] = false
            next[left] = next[right]
            if next[left] < n { previous[next[left]] = left }
            if previous[left] >= 0, let m = merges[PairKey(left: Int32(ids[previous[left]]), right: Int32(ids[left]))] {
                heap.push(.init(rank: m.rank, position: previous[left], merged: m.merged))
            }
            if next[left] < n, let m = merges[PairKey(left: Int32(ids[left]), right: Int32(ids[next[left]]))] {
                heap.push(.init(rank: m.rank, position: left, merged: m.merged))
            }
        }
        var result: [Int] = []
        var i = 0
        while i < n {
            result.append(ids[i])
            i = next[i]
        }
        return result
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
struct MergeHeap {
    struct Entry {
        let rank: Int
        let position: Int
        let merged: Int

        func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : position < other.position
        }
    }

    private var items: [Entry] = []

    mutating func push(_ entry: Entry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count && items[left].precedes(items[best]) { best = left }
                if right < items.count && items[right].precedes(items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
