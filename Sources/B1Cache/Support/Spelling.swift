import Foundation

/// "Did you mean …" for a mistyped name (a command, a write kind).
public enum Spelling {
    /// The candidate closest to `name`, when it is at most `maximumDistance` edits away (and not `name` itself).
    public static func closest(to name: String, among candidates: [String], maximumDistance: Int = 2) -> String? {
        let typed = Array(name.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(typed, Array(candidate))
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best, best.distance <= maximumDistance, best.candidate != name else { return nil }
        return best.candidate
    }

    /// Levenshtein distance (insertions, deletions, substitutions).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, right) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
