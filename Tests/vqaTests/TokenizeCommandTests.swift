import Foundation
import Testing
import TestSupport

@Suite struct TokenizeCommandTests {
    let model = Fixtures.url("tokenizers/smolvlm").path

    @Test func jsonOutputMatchesTokenizers() throws {
        let result = try VQAProcess.run(["tokenize", "--model", model, "--json", "User:<image>What is in this chart?"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["ids"] as? [Int] == [16771, 42, 49190, 6416, 347, 313, 711, 916, 895, 47])
        #expect((object?["tokens"] as? [String])?.prefix(3) == ["User", ":", "<image>"])
    }

    @Test func tableAndDecode() throws {
        let table = try VQAProcess.run(["tokenize", "--model", model, "a <image>"])
        #expect(table.status == 0 && table.stdout.contains("49190  \"<image>\"  (special)"))
        let decoded = try VQAProcess.run(["tokenize", "--model", model, "--decode", "16771", "42", "49190"])
        #expect(decoded.stdout == "User:<image>\n")
        let skipped = try VQAProcess.run(["tokenize", "--model", model, "--decode", "--skip-special", "16771", "42", "49190"])
        #expect(skipped.stdout == "User:\n")
    }

    @Test func badInput() throws {
        let unknownID = try VQAProcess.run(["tokenize", "--model", model, "--decode", "49280"])
        #expect(unknownID.status != 0 && unknownID.stderr.contains("id 49280 is not in"))
        let noTokenizer = try VQAProcess.run(["tokenize", "--model", Fixtures.url("jpeg").path, "hello"])
        #expect(noTokenizer.status != 0 && noTokenizer.stderr.contains("no tokenizer.json"))
        let missingFile = try VQAProcess.run(["tokenize", "--model", model, "--file", "/nonexistent.txt"])
        #expect(missingFile.status != 0 && missingFile.stderr.contains("/nonexistent.txt"))
    }
}
