import Foundation

/// A run of `b1cache` with the peak memory and the CPU time of its process.
struct MeasuredResult {
    var result: CommandResult
    /// The process's maximum resident set size (`ru_maxrss` of `wait4`), in kilobytes.
    var peakKilobytes: Int
    /// True when the process had to be killed because it ran past the hang guard.
    var hung: Bool
    /// CPU seconds the process used, user and system (`ru_utime` + `ru_stime` of `wait4`).
    var cpuSeconds: Double = -1

    var status: Int32 { result.status }
    var output: String { result.output }
    var errorOutput: String { result.errorOutput }
}

extension CommandRunner {
    /// Runs the child, waits for it (killing it past the guard), and writes "<exit code> <peak KB>" to a file. Python's
    /// `getrusage(RUSAGE_CHILDREN)` is the `wait4` rusage of its one child, so the figure is b1cache's alone, not that
    /// of the test process's other children running in parallel.
    private static let measuring = """
        import resource, subprocess, sys
        report, guard, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
        try:
            code = subprocess.run(command, timeout=guard).returncode
        except subprocess.TimeoutExpired:
            code = -1
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = usage.ru_maxrss
        with open(report, "w") as f:
            f.write(f"{code} {peak // 1024 if sys.platform == 'darwin' else peak} {usage.ru_utime + usage.ru_stime:.4f}\\n")
        sys.exit(124 if code < 0 else code)
        """

    /// Runs `b1cache` like `b1cache(_:environment:)` and measures its peak memory. A run that takes longer than
    /// `hangGuard` seconds is killed and reported as `hung` (a guard so a hang fails the test instead of blocking
    /// the suite, not a timing assertion).
    static func b1cacheMeasured(
        _ arguments: [String], environment: [String: String], report: URL,
        hangGuard: TimeInterval = 120
    ) throws -> MeasuredResult {
        let result = try run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", measuring, report.path, String(hangGuard), binary.path] + arguments,
            environment: environment, timeout: hangGuard + 60)
        let fields = String(decoding: try Data(contentsOf: report), as: UTF8.self).split(separator: " ")
        let code = fields.first.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? -1
        let peak = fields.dropFirst().first.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? -1
        let cpu = fields.dropFirst(2).first.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? -1
        return MeasuredResult(
            result: CommandResult(status: code, output: result.output, errorOutput: result.errorOutput),
            peakKilobytes: peak, hung: code == -1, cpuSeconds: cpu)
    }
}
