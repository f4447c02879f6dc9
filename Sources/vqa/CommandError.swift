/// A problem with what the user gave a command (a file, an id) found while running it:
/// printed as "Error: ..." with exit status 1, without the usage text a syntax error shows.
struct CommandError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
