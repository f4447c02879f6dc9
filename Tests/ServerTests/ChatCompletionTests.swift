import Foundation
import Runtime
import Server
import Testing
import TestSupport

/// `/v1/chat/completions` answers what the library answers, plain and streamed.
@Suite(.serialized) struct ChatCompletionTests {
    let chart = try! dataURI("processor/images/landscape-chart.png")

    @Test func plainCompletionEqualsTheLibrary() async throws {
        let server = try await TestServer()
        let messages = [imageMessage(chart, "What is in this chart?")]
        let (status, json) = try await server.complete(["model": "anything", "messages": messages, "max_tokens": 6])
        #expect(status == 200, "\(json)")
        let expected = try libraryAnswer(messages, GenerationParameters(maxNewTokens: 6))
        #expect(content(json) == expected.text)
        #expect(json["object"] as? String == "chat.completion" && json["model"] as? String == "fixture")
        #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
        let choice = try #require((json["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] as? String == "length" && choice["logprobs"] is NSNull)
        let usage = try #require(json["usage"] as? [String: Int])
        #expect(usage == ["prompt_tokens": expected.report.promptTokens, "completion_tokens": 6, "total_tokens": expected.report.promptTokens + 6])

        let (_, models) = try await server.send("v1/models", method: "GET")
        let list = try #require(try JSONSerialization.jsonObject(with: models) as? [String: Any])
        #expect((list["data"] as? [[String: Any]])?.first?["id"] as? String == "fixture")
        try await server.stop()
    }

    @Test func streamedChunksReassembleToTheSameAnswer() async throws {
        let server = try await TestServer()
        let messages = [imageMessage(chart, "Describe it.")]
        let body: [String: Any] = ["messages": messages, "max_tokens": 5, "stream": true, "stream_options": ["include_usage": true],
                                   "logprobs": true]
        let (status, data) = try await server.send("v1/chat/completions", body: try JSONSerialization.data(withJSONObject: body))
        #expect(status == 200)
        let events = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.allSatisfy { $0.hasPrefix("data: ") })
        #expect(events.last == "data: [DONE]")
        let chunks = try events.dropLast().map { try #require(try JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]) }
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
        let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
        let deltas = choices.compactMap { $0["delta"] as? [String: Any] }
        #expect(deltas.first?["role"] as? String == "assistant")
        let text = deltas.compactMap { $0["content"] as? String }.joined()
        let expected = try libraryAnswer(messages, GenerationParameters(maxNewTokens: 5))
        #expect(text == expected.text)
        #expect(choices.last?["finish_reason"] as? String == "length")
        // The log-probabilities of the chunks, together, are one per generated token.
        let logprobs = choices.compactMap { ($0["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] }.flatMap { $0 }
        #expect(logprobs.count == 5)
        // The usage chunk comes last, with no choices; every other chunk has "usage": null.
        #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true)
        #expect(chunks.last?["usage"] as? [String: Int] == ["prompt_tokens": expected.report.promptTokens, "completion_tokens": 5,
                                                             "total_tokens": expected.report.promptTokens + 5])
        #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
        try await server.stop()
    }

    @Test func logprobsInOpenAIsShape() async throws {
        let server = try await TestServer()
        let messages: [[String: Any]] = [["role": "user", "content": "Hello there"]]
        let (status, json) = try await server.complete(["messages": messages, "max_tokens": 4, "logprobs": true, "top_logprobs": 3])
        #expect(status == 200, "\(json)")
        let expected = try libraryAnswer(messages, GenerationParameters(maxNewTokens: 4, topLogprobs: 3))
        let choice = try #require((json["choices"] as? [[String: Any]])?.first)
        let entries = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
        #expect(entries.count == expected.tokens.count)
        for (entry, token) in zip(entries, expected.tokens) {
            let text = fixtureModel.tokenizer.decode([token.id])
            #expect(entry["token"] as? String == text)
            #expect(entry["bytes"] as? [Int] == Array(text.utf8).map(Int.init))
            #expect(abs((entry["logprob"] as? Double ?? 0) - Double(token.logprob)) < 1e-5)
            let top = try #require(entry["top_logprobs"] as? [[String: Any]])
            #expect(top.compactMap { $0["token"] as? String } == token.topLogprobs.map { fixtureModel.tokenizer.decode([$0.id]) })
            #expect(zip(top.compactMap { $0["logprob"] as? Double }, token.topLogprobs).allSatisfy { abs($0 - Double($1.logprob)) < 1e-5 })
        }
        #expect(entries.compactMap { $0["token"] as? String }.joined() == content(json))
        try await server.stop()
    }

    /// Two turns with the image in the first: the same answer as the library, and the second
    /// request reuses the image's encoding from the first.
    @Test func multiTurnWithTheImageCache() async throws {
        let server = try await TestServer()
        let first = [imageMessage(chart, "What is this?")]
        let (_, one) = try await server.complete(["messages": first, "max_tokens": 3])
        let cache = try #require(server.server.imageFeatureCache)
        #expect(cache.statistics.misses == 1 && cache.statistics.hits == 0 && cache.statistics.entries == 1)
        let turns = first + [["role": "assistant", "content": try #require(content(one))], ["role": "user", "content": "And the colours?"]]
        let (status, two) = try await server.complete(["messages": turns, "max_tokens": 5])
        #expect(status == 200, "\(two)")
        #expect(content(two) == (try libraryAnswer(turns, GenerationParameters(maxNewTokens: 5)).text))
        #expect(cache.statistics.hits == 1 && cache.statistics.entries == 1)
        try await server.stop()
    }

    /// A request's own sampling fields override the server's defaults; the same seed repeats a
    /// sampled answer, and it is the library's for that seed.
    @Test func seededSamplingIsRepeatable() async throws {
        let server = try await TestServer()
        let messages: [[String: Any]] = [["role": "system", "content": "Be brief."], ["role": "user", "content": "Say something."]]
        let body: [String: Any] = ["messages": messages, "max_tokens": 6, "temperature": 1.5, "top_p": 0.9, "seed": 7]
        let (_, a) = try await server.complete(body)
        let (_, b) = try await server.complete(body)
        #expect(content(a) != nil && content(a) == content(b))
        let text = try libraryAnswer(messages, GenerationParameters(maxNewTokens: 6, temperature: 1.5, topP: 0.9, seed: 7)).text
        #expect(content(a) == text)
        try await server.stop()
    }
}
