import B1Cache
import Foundation

/// `b1cache man`: the manual page b1cache(1) in roff, generated from the same help texts `--help` prints, so the
/// page and the command cannot disagree. `make install` writes it to `share/man/man1/b1cache.1`.
enum ManCommand: Command {
    static let name = "man"
    static let summary = "print the manual page b1cache(1) in roff (man -l - reads it)"
    static let options: Set<String> = []
    static let flags: Set<String> = []
    static let help = """
        Usage: b1cache man

        Prints the manual page, generated from the commands' --help texts: read it with
          b1cache man | man -l -
        'make install' installs it as share/man/man1/b1cache.1.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'man' takes no arguments") }
        context.terminal.line(page)
        return .ok
    }

    static var page: String {
        var lines = [
            #".TH B1CACHE 1 "" "b1cache \#(CLI.version)" "User Commands""#,
            ".SH NAME",
            #"b1cache \- the offline cache of a BillingOne finance client"#,
            ".SH SYNOPSIS",
            ".B b1cache",
            ".I COMMAND",
            "[\\fIOPTIONS\\fR]",
            ".SH DESCRIPTION",
            "b1cache keeps the last synced billing data (subscriptions, invoices, contracts, the missed-billing queue)",
            "readable without a network, queues the few writes allowed offline, and sends them in order and once when",
            "the network returns. The cache is a folder of JSON files that scripts read with",
            ".BR jq (1).",
            "Every command takes",
            ".B \\-\\-cache\\-dir",
            ".I DIR",
            "and",
            ".BR \\-\\-help .",
            ".SH COMMANDS",
        ]
        for command in CLI.commands {
            lines += [".SS \(escape(command.name))", escape(command.summary), ".PP", ".nf"]
            lines += command.help.split(separator: "\n", omittingEmptySubsequences: false).map { escape(String($0)) }
            lines += [".fi"]
        }
        lines += [
            ".SH ENVIRONMENT",
            item("B1CACHE_DIR", "the cache folder, when --cache-dir is not given"),
            item("XDG_CACHE_HOME", "when absolute, the cache is $XDG_CACHE_HOME/billingone (else ~/.cache/billingone)"),
            item("B1_SERVER_URL", "the server, when --server is not given"),
            item("B1_TOKEN", "the bearer token, when --token-file is not given; never written into the cache"),
            item(
                "B1_CA_FILE, CURL_CA_BUNDLE, SSL_CERT_FILE",
                "a CA file to trust instead of the system's (the first set wins; --ca-file before all)"),
            item("http_proxy, HTTPS_PROXY", "proxies, as curl reads them"),
            item("NO_COLOR", "no colour, even on a terminal"),
            ".SH FILES",
            item("manifest.json", "account, per-collection sync state, last Sync All"),
            item("collections/NAME.json", "one envelope per collection"),
            item("queue/*.json", "pending writes; file name order is flush order"),
            item("failed/*.json", "writes that failed for good"),
            item("history.jsonl", "what flush sent and what the server said, the newest 1,000"),
            item("queue-index.jsonl", "a hint for status, inspect and enqueue; queue/ is the truth"),
            item("quarantine/", "files verify --repair moved aside, never deleted"),
            item("flush.lock/", "present while a process holds the lock"),
            ".SH EXIT STATUS",
            item("0", "ok"), item("1", "failure"), item("2", "usage or invalid input"),
            item("3", "flush incomplete (writes still pending or moved to failed/)"),
            item("4", "offline or server unreachable (nothing lost)"), item("5", "unauthorized or another account"),
            item("6", "busy (another process holds the lock)"), item("7", "refused (writes would be lost)"),
            item("8", "corrupt data found"),
            ".SH EXAMPLES",
            ".nf",
            escape("b1cache status --json | jq -e .online >/dev/null && b1cache flush"),
            escape("b1cache show invoices | jq -r 'select(.status == \"AUTHORISED\") | [.number, .amountDue] | @tsv'"),
            escape("jq . \"$(b1cache path)/manifest.json\""),
            ".fi",
            ".SH SEE ALSO",
            ".BR jq (1)",
        ]
        return lines.joined(separator: "\n")
    }

    private static func item(_ tag: String, _ text: String) -> String {
        ".TP\n.B \(escape(tag))\n\(escape(text))"
    }

    /// Text safe for roff: backslashes and dashes escaped, characters beyond ASCII as `\[uXXXX]` (so groff reads
    /// the page without preconv), leading dots or quotes protected.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\e"
            case "-": escaped += "\\-"
            case _ where scalar.value > 127: escaped += "\\[u" + String(format: "%04X", scalar.value) + "]"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        if escaped.hasPrefix(".") || escaped.hasPrefix("'") { escaped = "\\&" + escaped }
        return escaped
    }
}
