public import Dispatch

/// Where work split over the cores runs: on dispatch queues of our own, never the global
/// concurrent pool. That pool has one thread per core, and the thread that splits the work
/// and waits for it is usually one of them (Swift concurrency runs on it), so on a two-core
/// machine a job split in two got one thread until the pool noticed the stall — the gate's
/// pass ran on one lane for its first ~0.9 s. A serial queue we make is served by a thread of
/// its own whenever it has work, so every part starts at once.
public enum Workers {
    /// A queue for one worker: give each concurrent part its own.
    public static func queue(_ name: String) -> DispatchQueue {
        DispatchQueue(label: "proviso.\(name)")
    }

    /// Starts `work` on a queue of its own, in `group`.
    public static func start(_ name: String, group: DispatchGroup, _ work: @escaping @Sendable () -> Void) {
        queue(name).async(group: group, execute: work)
    }

    /// Runs `body(k)` for every k in `0..<count`, part 0 on the calling thread and each other
    /// part on a queue of its own, and returns when all have finished.
    public static func perform(_ count: Int, _ name: String, _ body: @Sendable (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let group = DispatchGroup()
            for k in 1..<count {
                start(name, group: group) { body(k) }
            }
            body(0)
            group.wait()
        }
    }
}
