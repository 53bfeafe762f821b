import B1Cache
import Foundation

/// `watch --print-service systemd|launchd`: a user unit or agent that runs this very watcher (same binary, cache,
/// server options), restarted on failure. The token stays in its file: the unit names the file, never the token.
enum ServiceFile {
    static func text(kind: String, context: CommandContext) throws -> String {
        guard let tokenFile = context.arguments.value("--token-file") else {
            throw UsageError(
                "--print-service needs --token-file FILE: a service reads its token from a file, and the "
                    + "token is never written into the unit",
                hint: "put the token in a file only you can read (chmod 600), and pass --token-file")
        }
        var arguments = [
            executable(), "watch", "--cache-dir", context.paths.root.path,
            "--token-file", absolute((tokenFile as NSString).expandingTildeInPath),
        ]
        if let server = try ServerOptions.serverURL(context) { arguments += ["--server", server.absoluteString] }
        for option in ["--timeout", "--ca-file", "--max-backoff", "--poll-interval"] {
            if let value = context.arguments.value(option) {
                let path = absolute((value as NSString).expandingTildeInPath)
                arguments += [option, option == "--ca-file" ? path : value]
            }
        }
        // A service does not inherit this shell's $B1CACHE_BUDGET: the budget in force is written as the flag.
        if let budget = context.arguments.value(StorageReport.option)
            ?? context.environment[StorageBudget.environmentVariable].flatMap({ $0.isEmpty ? nil : $0 })
        {
            arguments += [StorageReport.option, budget]
        }
        switch kind {
        case "systemd": return systemd(arguments, root: context.paths.root.path)
        case "launchd": return launchd(arguments)
        default:
            throw UsageError("--print-service takes systemd or launchd, not '\(kind)'")
        }
    }

    /// A systemd user unit. Exit 2 (bad options), 5 (another account's token) and 6 (another watcher) are not
    /// restarted: restarting cannot fix them.
    static func systemd(_ arguments: [String], root: String) -> String {
        """
        # b1cache watch for \(root)
        # Install: save as ~/.config/systemd/user/b1cache-watch.service, then
        #   systemctl --user daemon-reload && systemctl --user enable --now b1cache-watch.service
        # Logs: journalctl --user -u b1cache-watch. The token is read from --token-file, never written here.
        [Unit]
        Description=b1cache watch: keep the BillingOne cache in step with the server
        Wants=network-online.target
        After=network-online.target

        [Service]
        Type=simple
        ExecStart=\(arguments.map(systemdQuoted).joined(separator: " "))
        Restart=on-failure
        RestartSec=5
        RestartPreventExitStatus=2 5 6
        TimeoutStopSec=10

        [Install]
        WantedBy=default.target
        """
    }

    /// A launchd agent (KeepAlive unless it exited 0, i.e. was stopped on purpose).
    static func launchd(_ arguments: [String]) -> String {
        let items = arguments.map { "        <string>\(xmlEscaped($0))</string>" }.joined(separator: "\n")
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <!-- Install: save as ~/Library/LaunchAgents/dev.billingone.b1cache-watch.plist, then
                 launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/dev.billingone.b1cache-watch.plist
                 The token is read from the token file, never written here. -->
            <plist version="1.0">
            <dict>
                <key>Label</key>
                <string>dev.billingone.b1cache-watch</string>
                <key>ProgramArguments</key>
                <array>
            \(items)
                </array>
                <key>RunAtLoad</key>
                <true/>
                <key>KeepAlive</key>
                <dict>
                    <key>SuccessfulExit</key>
                    <false/>
                </dict>
                <key>ThrottleInterval</key>
                <integer>5</integer>
            </dict>
            </plist>
            """
    }

    /// One word of ExecStart: in double quotes, with `\`, `"` escaped and systemd's `%` and `$` doubled.
    static func systemdQuoted(_ word: String) -> String {
        var text = ""
        for character in word {
            switch character {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "%": text += "%%"
            case "$": text += "$$"
            default: text.append(character)
            }
        }
        return "\"\(text)\""
    }

    static func xmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// This binary's absolute path: argv[0] made absolute, or found on PATH.
    static func executable() -> String {
        let name = CommandLine.arguments.first ?? "b1cache"
        if name.contains("/") { return absolute(name) }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return absolute(candidate) }
        }
        return name
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }
}
