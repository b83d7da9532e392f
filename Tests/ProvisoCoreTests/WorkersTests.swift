import Dispatch
import Synchronization
import Testing
import ProvisoCore

@Suite struct WorkersTests {
    /// Every part runs once, and all of them at the same time: each waits at a barrier that
    /// opens only when the last part has started (bounded, so a failure cannot hang the suite).
    /// On the global pool, whose threads include the waiting caller's, parts could run one
    /// after another; here that would leave the first one waiting, and the test would fail.
    @Test(arguments: [1, 2, 3, 4])
    func everyPartRunsOnceAndAllRunTogether(parts: Int) {
        let runs = Mutex<[Int]>([])
        let started = Mutex(0)
        let barrier = DispatchSemaphore(value: 0)
        let passed = Mutex(0)
        Workers.perform(parts, "test") { k in
            runs.withLock { $0.append(k) }
            let last = started.withLock { n in
                n += 1
                return n == parts
            }
            if last { for _ in 0..<parts { barrier.signal() } }
            if barrier.wait(timeout: .now() + 10) == .success { passed.withLock { $0 += 1 } }
        }
        #expect(runs.withLock { $0.sorted() } == Array(0..<parts))
        #expect(passed.withLock { $0 } == parts)
    }
}
