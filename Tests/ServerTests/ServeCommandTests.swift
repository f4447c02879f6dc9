import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// `vqa serve` as a process: it prints where it listens, answers, and exits 0 on SIGTERM.
@Suite struct ServeCommandTests {
    @Test func servesAndStopsOnSIGTERM() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vqa")
        process.arguments = ["serve", "--model", Fixtures.url("smolvlm/idefics3-f32").path, "--port", "0", "--max-tokens", "2"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        // The startup line names the address (with the port chosen) and the model.
        var output = ""
        var port: Int?
        while port == nil {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            output += String(decoding: data, as: UTF8.self)
            if let range = output.range(of: #"listening on http://127\.0\.0\.1:(\d+) with model idefics3-f32"#, options: .regularExpression) {
                port = Int(output[range].split(separator: ":").last!.split(separator: " ").first!)
            }
        }
        let listening = try #require(port, "\(output)")
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(listening)/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"messages": [{"role": "user", "content": "Hi"}]}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: data, as: UTF8.self))")

        kill(process.processIdentifier, SIGTERM)
        let rest = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        output += String(decoding: rest, as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(output)")
        // One access-log line for the request, with its status and token counts.
        #expect(output.contains("POST /v1/chat/completions 200") && output.contains("completion 2"), "\(output)")
    }
}
