import Foundation

/// A usage mistake on the command line: exit 2 with the message and a pointer to `--help`.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    var hint: String

    init(_ description: String, hint: String = "") {
        self.description = description
        self.hint = hint
    }
}

/// The words after the command name, parsed against what the command declares.
///
/// Options take a value (`--id X` or `--id=X`); flags take none. Anything else starting with `-` is refused, so a
/// typo never silently changes what a command does.
struct Arguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []

    init(_ words: [String], options: Set<String>, flags allowedFlags: Set<String>, command: String) throws {
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" {
                positionals += words[index...]
                break
            }
            guard word.hasPrefix("-"), word != "-" else {
                positionals.append(word)
                continue
            }
            var name = word
            var inlineValue: String?
            if let equals = word.firstIndex(of: "=") {
                name = String(word[..<equals])
                inlineValue = String(word[word.index(after: equals)...])
            }
            if options.contains(name) {
                if let inlineValue {
                    values[name, default: []].append(inlineValue)
                } else {
                    guard index < words.count else {
                        throw UsageError("\(name) needs a value", hint: "see 'b1cache \(command) --help'")
                    }
                    values[name, default: []].append(words[index])
                    index += 1
                }
            } else if allowedFlags.contains(name), inlineValue == nil {
                flags.insert(name)
            } else {
                throw UsageError("unknown option '\(word)' for '\(command)'", hint: "see 'b1cache \(command) --help'")
            }
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// A duration such as `90s`, `30m`, `24h` or `7d` (a bare number is seconds).
    func duration(_ name: String) throws -> TimeInterval? {
        guard let text = value(name) else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text)
        var factor = 1.0
        if let last = text.last, let unit = units[last] {
            number = text.dropLast()
            factor = unit
        }
        guard let amount = Double(number), amount >= 0, amount.isFinite else {
            throw UsageError("\(name) takes a duration like 90s, 30m, 24h or 7d, not '\(text)'")
        }
        return amount * factor
    }
}
