import B1Cache
import Foundation
import Synchronization

/// Where a command writes: buffered stdout and stderr, with colour only on a terminal and never with `NO_COLOR`.
///
/// A write to stdout that fails (`> /dev/full`, a pipe whose reader is gone, stdout closed at start) is remembered,
/// not trapped on: the rest of the output is dropped and `CLI.run` ends the command with exit 1 and
/// "cannot write to standard output (reason)" on stderr (`outputFailure`).
final class Terminal: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let failure = Mutex<String?>(nil)
    private let progressDrawn = Mutex(false)
    private let output: FileHandle
    private let errorOutput: FileHandle
    /// stdout was closed when the process started (and is `/dev/null` now, see `Console.prepareStandardStreams`).
    private let outputClosed: Bool
    let isInteractive: Bool
    /// Progress (a redrawn count) may be drawn on stderr: stdout is not a terminal but stderr is.
    let progressOnErrorOutput: Bool
    let useColour: Bool

    init(
        environment: [String: String], output: FileHandle = .standardOutput, errorOutput: FileHandle = .standardError,
        outputClosed: Bool = false
    ) {
        self.output = output
        self.errorOutput = errorOutput
        self.outputClosed = outputClosed
        isInteractive = !outputClosed && Console.isTerminal(output.fileDescriptor)
        progressOnErrorOutput = !isInteractive && Console.isTerminal(errorOutput.fileDescriptor)
        let noColour = (environment["NO_COLOR"].map { !$0.isEmpty } ?? false) || environment["TERM"] == "dumb"
        useColour = isInteractive && !noColour
    }

    /// Why stdout could not be written, once a write to it failed; nil while every write succeeded.
    var outputFailure: String? { failure.withLock { $0 } }

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
        write(Data(text.utf8))
    }

    /// Draws progress text where it belongs: on stdout when it is a terminal, else on stderr when that is one, else
    /// nowhere — stdout that goes to a file or a pipe carries only the result.
    func progress(_ text: String) {
        guard isInteractive || progressOnErrorOutput else { return }
        progressDrawn.withLock { $0 = true }
        emitProgress(text)
    }

    /// Ends a progress line with a newline, so what follows starts on a line of its own.
    func endProgress() {
        if progressDrawn.withLock({ $0 }) { emitProgress("\n") }
        progressDrawn.withLock { $0 = false }
    }

    /// Wipes the progress line, so a line of the result can be written where it was.
    func clearProgress() {
        if progressDrawn.withLock({ $0 }) { emitProgress("\r\u{1B}[K") }
        progressDrawn.withLock { $0 = false }
    }

    private func emitProgress(_ text: String) {
        if isInteractive {
            raw(text)
        } else {
            flush()
            try? errorOutput.write(contentsOf: Data(text.utf8))
        }
    }

    func flush() {
        let pending = buffer.withLock { buffer in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if !pending.isEmpty { write(Data(pending)) }
    }

    private func write(_ data: Data) {
        guard failure.withLock({ $0 == nil }) else { return }
        if outputClosed {
            failure.withLock { $0 = "it was closed when b1cache started" }
            return
        }
        do {
            try output.write(contentsOf: data)
        } catch {
            failure.withLock { $0 = Self.reason(error) }
        }
    }

    /// The system's words for a failed write ("No space left on device", "Broken pipe").
    static func reason(_ error: any Error) -> String {
        let error = error as NSError
        let posix = error.domain == NSPOSIXErrorDomain ? error : error.userInfo[NSUnderlyingErrorKey] as? NSError
        if let posix, posix.domain == NSPOSIXErrorDomain { return Console.errorDescription(Int32(posix.code)) }
        return error.localizedDescription
    }

    /// Writes to stderr at once (after anything pending on stdout). A failed write to stderr is dropped: there is
    /// nowhere left to report it, and the exit code still tells.
    func note(_ text: String) {
        flush()
        try? errorOutput.write(contentsOf: Data((text + "\n").utf8))
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
        case red = "31"
        case yellow = "33"
        case green = "32"
        case dim = "2"
        case bold = "1"
    }

    func paint(_ text: String, _ colour: Colour) -> String {
        useColour ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }
}

/// Formatting helpers for human output.
enum Format {
    /// `235.9 KB`, `1.2 MB`: the library's one byte formatter, so disk use and the storage budget read alike.
    static func bytes(_ count: Int64) -> String { StorageUse.format(count) }

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
                while end < characters.count, characters[end].isASCII,
                    characters[end].isNumber || characters[end] == ";"
                { end += 1 }
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
