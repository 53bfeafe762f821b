import B1Cache
import Foundation
import Testing

/// `make install` as a user runs it: one self-contained binary (on Linux no library of the Swift toolchain), its
/// man page and completion scripts; `make uninstall` removes exactly those. `make test` builds the release binary
/// before the suite runs, so `make install` here only copies.
@Suite(.timeLimit(.minutes(8))) final class InstallTests {
    let folder = TemporaryFolder()

    func make(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["make", "-C", Repository.root.path, "--no-print-directory"] + arguments,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"],
            timeout: 420)
    }

    var installed: [String] {
        [
            "bin/b1cache", "share/man/man1/b1cache.1", "share/bash-completion/completions/b1cache",
            "share/zsh/site-functions/_b1cache", "share/fish/vendor_completions.d/b1cache.fish",
            "lib/systemd/user/b1cache-watch.service",
        ]
    }

    @Test func installIsSelfContainedAndUninstallRemovesExactlyWhatItInstalled() throws {
        let destination = folder.path("root")
        let prefix = destination.appendingPathComponent("usr/local")
        let install = try make(["install", "DESTDIR=\(destination.path)", "PREFIX=/usr/local"])
        #expect(install.status == 0, "\(install.output)\(install.errorOutput)")
        for file in installed {
            #expect(FileManager.default.fileExists(atPath: prefix.appendingPathComponent(file).path), "\(file)")
        }
        let unit = try String(
            contentsOf: prefix.appendingPathComponent("lib/systemd/user/b1cache-watch.service"),
            encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/b1cache watch --token-file %h/.config/billingone/token"))
        let binary = prefix.appendingPathComponent("bin/b1cache")
        #if os(Linux)
            let libraries = try CommandRunner.run(URL(fileURLWithPath: "/usr/bin/ldd"), [binary.path])
            #expect(libraries.status == 0, "\(libraries.errorOutput)")
            #expect(
                !libraries.output.contains("swift") && !libraries.output.contains("libFoundation")
                    && !libraries.output.contains("libdispatch"), "\(libraries.output)")
            #expect(try CommandRunner.run(binary, ["--version"]).output.contains("static"))
        #endif
        // It runs with nothing but the system's paths: no toolchain folder, no library path.
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        let bare = ["PATH": "/usr/bin:/bin"]
        let inspect = try CommandRunner.run(binary, ["inspect", "--cache-dir", cache.path], environment: bare)
        #expect(inspect.status == 0, "\(inspect.errorOutput)")
        #expect(inspect.output.contains("dana.whitfield@northwind-msp.co.nz"))
        let status = try CommandRunner.run(binary, ["status", "--json", "--cache-dir", cache.path], environment: bare)
        #expect(status.status == 0, "\(status.errorOutput)")
        #expect(try JSONParser.parse(status.output)["pending"] == 3)

        let uninstall = try make(["uninstall", "DESTDIR=\(destination.path)", "PREFIX=/usr/local"])
        #expect(uninstall.status == 0, "\(uninstall.errorOutput)")
        let left =
            FileManager.default.enumerator(atPath: destination.path)?.allObjects.compactMap { $0 as? String }
            .filter {
                !((try? FileManager.default.attributesOfItem(atPath: destination.appendingPathComponent($0).path)[.type]
                    as? FileAttributeType) == .typeDirectory)
            } ?? []
        #expect(left.isEmpty, "left after uninstall: \(left)")
    }

    @Test func theManPageRendersWithoutWarnings() throws {
        let page = folder.path("b1cache.1")
        try Data(try CommandRunner.b1cache(["man"]).output.utf8).write(to: page)
        guard FileManager.default.fileExists(atPath: "/usr/bin/groff") else {
            print(
                "InstallTests: groff is not installed (scripts/install-test-tools.sh installs groff-base where it "
                    + "can); the man page was not rendered (skipped)")
            return
        }
        let check = try CommandRunner.run(URL(fileURLWithPath: "/usr/bin/groff"), ["-man", "-ww", "-z", page.path])
        #expect(check.status == 0)
        #expect(check.errorOutput.isEmpty, "\(check.errorOutput)")
        let text = try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/groff"), ["-man", "-Tascii", "-P-bou", page.path])
        for command in ["inspect", "flush", "verify", "completions", "EXIT STATUS", "B1_TOKEN"] {
            #expect(text.output.contains(command), "\(command) missing from the page")
        }
    }

    /// The bash script, sourced in bash and driven through COMP_WORDS, as bash's completion would.
    func complete(_ words: [String], cache: URL) throws -> [String] {
        let script = folder.path("b1cache.bash")
        try Data(try CommandRunner.b1cache(["completions", "bash"]).output.utf8).write(to: script)
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let program =
            "source '\(script.path)'; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _b1cache; "
            + "printf '%s\\n' \"${COMPREPLY[@]}\""
        let path = CommandRunner.binary.deletingLastPathComponent().path + ":/usr/bin:/bin"
        let result = try CommandRunner.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", program],
            environment: ["PATH": path, "B1CACHE_DIR": cache.path])
        #expect(result.status == 0, "\(result.errorOutput)")
        return result.lines
    }

    @Test func bashCompletesCommandsCollectionsKindsAndIds() throws {
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        #expect(try complete(["b1cache", "sh"], cache: cache) == ["show"])
        #expect(try complete(["b1cache", "show", ""], cache: cache) == CollectionName.allCases.map(\.rawValue))
        #expect(try complete(["b1cache", "enqueue", ""], cache: cache) == WriteKind.allCases.map(\.rawValue))
        #expect(try complete(["b1cache", "flush", "--ign"], cache: cache) == ["--ignore-backoff"])
        let ids = try WriteQueue(paths: CachePaths(root: cache)).list(.pending).compactMap(\.write?.id)
        #expect(try complete(["b1cache", "drop", ""], cache: cache).filter(ids.contains) == ids)
    }

    @Test func zshAndFishScriptsParse() throws {
        for (shell, flag) in [("zsh", "-n"), ("fish", "--no-execute")] {
            guard let path = ["/usr/bin/\(shell)", "/bin/\(shell)"].first(where: FileManager.default.fileExists) else {
                print("InstallTests: \(shell) is not installed; its script was not parsed (skipped)")
                continue
            }
            let script = folder.path("b1cache.\(shell)")
            try Data(try CommandRunner.b1cache(["completions", shell]).output.utf8).write(to: script)
            let check = try CommandRunner.run(URL(fileURLWithPath: path), [flag, script.path])
            #expect(check.status == 0, "\(shell): \(check.errorOutput)")
        }
    }
}
