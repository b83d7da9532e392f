import ProvisoStore
import Logging
import PostgresNIO

extension PostgresStore {
    /// LISTENs on `proviso_ledger` over a connection of its own (a pooled one could be handed
    /// back and lose the subscription) and yields once per notification. When that connection
    /// fails it reconnects every half second, and yields once on reconnecting: whatever was
    /// appended meanwhile is then caught up by reading the ledger, which stays the source of truth.
    public func ledgerWakeups() -> AsyncStream<Void>? {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let configuration = direct
        let task = Task {
            var id = 1
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: pgLogger)
                    id += 1
                    defer { Task { try? await connection.close() } }
                    try await connection.listen(on: "proviso_ledger") { notifications in
                        continuation.yield()
                        for try await _ in notifications { continuation.yield() }
                    }
                } catch {
                    pgLogger.debug("ledger listener: \(error)")
                }
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
