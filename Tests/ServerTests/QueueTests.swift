import Foundation
import Server
import Testing
import TestSupport

/// Admission under load: slots, the queue limit, and clients that leave.
@Suite(.serialized) struct QueueTests {
    /// Long enough (1000 tokens) that a generation that was not really cancelled would still
    /// hold its slot when the checks below give up.
    let long: [String: Any] = ["messages": [["role": "user", "content": "Go on"]], "max_tokens": 1000]

    @Test func pastTheQueueLimitRequestsGet429AndLeavingFreesTheSlot() async throws {
        let server = try await TestServer { options in
            options.parallel = 1
            options.queueLimit = 1
        }
        let running = try RawConnection(port: server.port)
        try running.post(long)
        #expect(try await server.waitForHealth { $0["slots_processing"] as? Int == 1 })
        let waiting = try RawConnection(port: server.port)
        try waiting.post(long)
        #expect(try await server.waitForHealth { $0["requests_waiting"] as? Int == 1 })

        let (status, json) = try await server.complete(["messages": [["role": "user", "content": "Hi"]], "max_tokens": 1])
        #expect(status == 429 && errorObject(json)?["type"] as? String == "rate_limit_error", "\(json)")

        // The waiting client leaves: its place is given up at once.
        waiting.close()
        #expect(try await server.waitForHealth(seconds: 2) { $0["requests_waiting"] as? Int == 0 })
        // The running client leaves: its generation stops and frees the slot.
        running.close()
        #expect(try await server.waitForHealth(seconds: 2) { $0["slots_processing"] as? Int == 0 })
        let (after, answer) = try await server.complete(["messages": [["role": "user", "content": "Hi"]], "max_tokens": 2])
        #expect(after == 200 && content(answer) != nil)
        try await server.stop()
    }

    /// A streaming client that reads the first chunk and leaves: the generation stops.
    @Test func leavingAStreamCancelsItsGeneration() async throws {
        let server = try await TestServer { $0.parallel = 1 }
        let client = try RawConnection(port: server.port)
        var body = long
        body["stream"] = true
        try client.post(body)
        #expect(client.read(until: "\"content\":\"").contains("HTTP/1.1 200"))
        client.close()
        #expect(try await server.waitForHealth(seconds: 2) { $0["slots_processing"] as? Int == 0 })
        #expect(try await server.complete(["messages": [["role": "user", "content": "Hi"]], "max_tokens": 1]).status == 200)
        try await server.stop()
    }

    /// With one slot, waiting requests are served in the order they came.
    @Test func waitingRequestsAreServedInOrder() async throws {
        let server = try await TestServer { $0.parallel = 1 }
        let first = try RawConnection(port: server.port)
        try first.post(["messages": [["role": "user", "content": "Go on"]], "max_tokens": 60])
        #expect(try await server.waitForHealth { $0["slots_processing"] as? Int == 1 })
        let order = Locked([Int]())
        var clients: [Task<Void, Error>] = []
        for index in 0..<3 {
            clients.append(Task {
                _ = try await server.complete(["messages": [["role": "user", "content": "Request \(index)"]], "max_tokens": 1])
                order.mutate { $0.append(index) }
            })
            #expect(try await server.waitForHealth { $0["requests_waiting"] as? Int == index + 1 })
        }
        for client in clients { try await client.value }
        #expect(order.value == [0, 1, 2])
        first.close()
        try await server.stop()
    }
}

/// A value behind a lock, for tests that collect results from several tasks.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }

    func mutate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
