import Foundation

/// Runs the real `vqa` binary, built next to the test bundle, as a subprocess.
public struct VQAProcess {
    public static let binary = program("vqa")

    /// An executable of this package, built next to the test bundle.
    public static func program(_ name: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    }

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `program arguments` (`vqa` by default) in the repository root; `environment` entries are added to this process's.
    public static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:],
                           program: URL = binary) throws -> Result {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = Fixtures.repository
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data((input ?? "").utf8))
        try stdin.fileHandleForWriting.close()
        // Standard error is drained on its own thread: a command that writes more than a pipe
        // holds to it while standard output is still open would otherwise never finish.
        let stderrData = LockedData()
        let stderrDone = DispatchSemaphore(value: 0)
        Thread {
            stderrData.set(err.fileHandleForReading.readDataToEndOfFile())
            stderrDone.signal()
        }.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        stderrDone.wait()
        let stderr = stderrData.value
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// `run` on a thread of its own, so that an async test (which may be serving the command
    /// over HTTP in the same process) never blocks one of the few cooperative threads.
    public static func running(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try run(arguments, input: input, environment: environment) }) }.start()
        }
    }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?

    func set(_ value: Data) { lock.withLock { data = value } }
    var value: Data { lock.withLock { data ?? Data() } }
}
