import B1Cache
import Foundation
import Synchronization

/// Where a command writes: buffered stdout and stderr, with colour only on a terminal and never with `NO_COLOR`.
final class Terminal: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let output: FileHandle
    private let errorOutput: FileHandle
    let isInteractive: Bool
    let useColour: Bool

    init(environment: [String: String], output: FileHandle = .standardOutput, errorOutput: FileHandle = .standardError) {
        self.output = output
        self.errorOutput = errorOutput
        isInteractive = System.isTerminal(output.fileDescriptor)
        let noColour = (environment["NO_COLOR"].map { !$0.isEmpty } ?? false) || environment["TERM"] == "dumb"
        useColour = isInteractive && !noColour
    }

    /// Writes a line to stdout (buffered; flushed in 64 KiB pieces and at the end of the command).
    func line(_ text: String = "") {
        let full = buffer.withLock { buffer in
            buffer.append(contentsOf: text.utf8)
            buffer.append(0x0A)
            return buffer.count >= 1 << 16
        }
        if full { flush() }
    }

    /// Writes text to stdout at once, without a newline (for a progress line redrawn with `\r`).
    func raw(_ text: String) {
        flush()
        output.write(Data(text.utf8))
    }

    func flush() {
        let pending = buffer.withLock { buffer in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if !pending.isEmpty { output.write(Data(pending)) }
    }

    /// Writes to stderr at once (after anything pending on stdout).
    func note(_ text: String) {
        flush()
        errorOutput.write(Data((text + "\n").utf8))
    }

    /// `b1cache: error: <sentence>` and, when there is one, a hint line.
    func error(_ message: String, hint: String = "") {
        note("b1cache: error: \(message)")
        if !hint.isEmpty { note("hint: \(hint)") }
    }

    /// `b1cache: warning: <sentence>` and, when there is one, a hint line.
    func warning(_ message: String, hint: String = "") {
        note("b1cache: warning: \(message)")
        if !hint.isEmpty { note("hint: \(hint)") }
    }

    /// The hint after a warning about a file that could not be read.
    static let unreadableFileHint = "'b1cache verify --repair' moves it to quarantine/, where it is kept, not deleted"

    enum Colour: String {
        case red = "31", yellow = "33", green = "32", dim = "2", bold = "1"
    }

    func paint(_ text: String, _ colour: Colour) -> String {
        useColour ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }
}

/// Formatting helpers for human output.
enum Format {
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `2 s`, `0.5 s`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && value < 1e9 ? "\(Int(value)) s" : String(format: "%g s", value)
    }

    /// Pads cells to column widths; `rightAligned` columns are numbers.
    static func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], visibleWidth(cell)) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                let padding = String(repeating: " ", count: widths[index] - visibleWidth(cell))
                return rightAligned.contains(index) ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingTrailingBlanks()
        }
    }

    /// Width without colour escapes (`ESC [ digits/; m`). A plain scan, not a regex: the first ICU regex in a
    /// process costs ~3 ms, a tenth of `inspect`.
    static func visibleWidth(_ text: String) -> Int {
        let characters = Array(text)
        var width = 0
        var index = 0
        while index < characters.count {
            if characters[index] == "\u{1B}", index + 1 < characters.count, characters[index + 1] == "[" {
                var end = index + 2
                while end < characters.count, characters[end].isASCII, characters[end].isNumber || characters[end] == ";" { end += 1 }
                if end < characters.count, characters[end] == "m" {
                    index = end + 1
                    continue
                }
            }
            width += 1
            index += 1
        }
        return width
    }
}

extension String {
    /// The string without trailing spaces and tabs.
    func trimmingTrailingBlanks() -> String {
        var end = endIndex
        while end > startIndex, let last = self[..<end].last, last == " " || last == "\t" { end = index(before: end) }
        return String(self[..<end])
    }
}
