/// The known name a mistyped one most likely meant, for "did you mean" hints.
package enum NearestName {
    /// The name of `known` nearest to `name` by edit distance (case-insensitive), if it is near enough to
    /// be a typo: at most a third of the name's length in insertions, deletions and substitutions.
    package static func nearest(to name: String, in known: [String]) -> String? {
        let typed = Array(name.lowercased().unicodeScalars)
        let limit = max(2, typed.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(typed, Array(candidate.lowercased().unicodeScalars))
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance, one row at a time.
    package static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
