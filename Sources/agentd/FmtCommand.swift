import ArgumentParser
import Config
import Foundation

/// `agentd fmt`: `alloy fmt` for agentd's configuration files.
struct FmtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Format a configuration file as `alloy fmt` does.",
        discussion: """
            Reads FILE, or standard input when FILE is "-" or absent, and prints the formatted text. \
            With --write, rewrites FILE instead (only when it changes) and prints nothing. A syntax error \
            is printed as FILE:line:column: message, with exit status 1; the file is left as it is.
            """,
        aliases: ["format"])

    @Argument(help: "The configuration file; \"-\" or absent: standard input.")
    var file: String?

    @Flag(name: .shortAndLong, help: "Write the result to FILE instead of standard output.")
    var write = false

    @Flag(name: .shortAndLong, help: "Only check: exit 1, saying so, when FILE is not formatted. Not with --write.")
    var test = false

    func run() throws {
        let path = file == "-" ? nil : file
        if write, test { throw failure("cannot use --write and --test together") }
        if write, path == nil { throw failure("cannot use --write with standard input") }

        var isDirectory: ObjCBool = false
        if let path, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw failure("cannot format a directory: \(path)")
        }
        let source: Data
        do {
            source =
                try path.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
                ?? FileHandle.standardInput.readDataToEndOfFile()
        } catch {
            throw failure("cannot read \(path ?? "standard input"): \(error.localizedDescription)")
        }
        if let invalid = Self.firstInvalidUTF8(in: source) {
            // Formatting would replace the bytes: refuse, as Alloy's scanner does.
            throw failure("\(path ?? "<stdin>"):\(invalid): illegal UTF-8 encoding")
        }
        let formatted: String
        do {
            formatted = try AlloyFormatter.format(String(decoding: source, as: UTF8.self), filename: path ?? "<stdin>")
        } catch {
            throw failure("\(error)")
        }
        let unchanged = Data(formatted.utf8) == source

        if test {
            if !unchanged { throw failure("file \(path ?? "<stdin>") is not formatted correctly") }
        } else if let path, write {
            if !unchanged {
                do {
                    try Self.replace(path, with: Data(formatted.utf8))
                } catch {
                    throw failure("cannot write \(path): \(error.localizedDescription)")
                }
            }
        } else {
            FileHandle.standardOutput.write(Data(formatted.utf8))
        }
    }

    /// Prints `message` on standard error; the exit status to throw.
    private func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
        return ExitCode(1)
    }

    /// Where the first byte that is not UTF-8 is, if any.
    static func firstInvalidUTF8(in data: Data) -> SourcePosition? {
        var bytes = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var position = SourcePosition(line: 1, column: 1)
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    position = SourcePosition(line: position.line + 1, column: 1)
                } else {
                    position.column += encoded.count
                }
            case .error:
                return position
            case .emptyInput:
                return nil
            }
        }
    }

    /// Replaces the file at `path` (or, for a symbolic link, the file it names) atomically: a
    /// temporary file with the same permissions in the same directory, renamed over it.
    static func replace(_ path: String, with contents: Data) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let permissions = try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions]
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).fmt-\(UUID().uuidString.prefix(8))")
        do {
            try contents.write(to: temporary)
            if let permissions {
                try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: temporary.path)
            }
            guard rename(temporary.path, target.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}
