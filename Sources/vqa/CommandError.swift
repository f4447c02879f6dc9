import Foundation

/// A problem with what the user gave a command (a file, an id) found while running it:
/// printed as "Error: ..." with exit status 1, without the usage text a syntax error shows.
struct CommandError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The UTF-8 text of a file named on the command line, with an error a person can act on.
func readTextFile(_ path: String) throws -> String {
    do { return try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) } catch {
        throw CommandError("\(path): cannot read it as UTF-8 text (\(error.localizedDescription))")
    }
}
