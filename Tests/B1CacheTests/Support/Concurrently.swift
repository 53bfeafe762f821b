import Foundation

/// Runs `body` on `count` real threads at once (not the cooperative pool, which has as many threads as cores
/// and would serialize blocking work on a 2-core machine), and waits for all of them.
func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}
