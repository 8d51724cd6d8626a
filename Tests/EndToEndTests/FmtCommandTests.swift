import Foundation
import TestSupport
import Testing

/// `agentd fmt` as a process: standard output, `--write`, standard input, and syntax errors.
@Suite("agentd fmt")
struct FmtCommandTests {
    private static let messy = "logging {\n  level=\"info\" // why\n    format = \"logfmt\"\n}\nx=1\n"
    private static let formatted = "logging {\n\tlevel  = \"info\" // why\n\tformat = \"logfmt\"\n}\nx = 1\n"

    /// Runs `agentd fmt ARGUMENTS` through the shell; standard output and error apart.
    private func fmt(_ arguments: String, in dir: TemporaryDirectory) async throws -> (
        status: Int32, output: String, errors: String
    ) {
        let shell = try ChildProcess(
            "/bin/sh",
            ["-c", "exec '\(AgentProcess.binary)' fmt \(arguments) > '\(dir.sub("out"))' 2> '\(dir.sub("err"))'"],
            name: "fmt")
        let status = await shell.waitForExit(within: .seconds(30)) ?? -1
        return (
            status, (try? String(contentsOfFile: dir.sub("out"), encoding: .utf8)) ?? "",
            (try? String(contentsOfFile: dir.sub("err"), encoding: .utf8)) ?? ""
        )
    }

    @Test(.timeLimit(.minutes(1))) func printsTheFormattedFileAndLeavesItAlone() async throws {
        let dir = TemporaryDirectory()
        let config = dir.sub("config.alloy")
        try Self.messy.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await fmt("'\(config)'", in: dir)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == Self.formatted)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == Self.messy)
    }

    @Test(.timeLimit(.minutes(1))) func readsStandardInputWithoutAFileOrWithADash() async throws {
        let dir = TemporaryDirectory()
        let config = dir.sub("config.alloy")
        try Self.messy.write(toFile: config, atomically: true, encoding: .utf8)
        for arguments in ["< '\(config)'", "- < '\(config)'"] {
            let result = try await fmt(arguments, in: dir)
            #expect(result.status == 0, "\(arguments): \(result.errors)")
            #expect(result.output == Self.formatted, "\(arguments)")
        }
        let refused = try await fmt("--write < '\(config)'", in: dir)
        #expect(refused.status == 1)
        #expect(refused.errors.contains("standard input"), "\(refused.errors)")
    }

    @Test(.timeLimit(.minutes(1))) func writeRewritesTheFileKeepingItsModeAndPrintsNothing() async throws {
        let dir = TemporaryDirectory()
        let config = dir.sub("config.alloy")
        try Self.messy.write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: config)
        let result = try await fmt("--write '\(config)'", in: dir)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.isEmpty)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == Self.formatted)
        let permissions = try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? Int
        #expect(permissions == 0o640)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["config.alloy", "err", "out"])

        let again = try await fmt("-w '\(config)'", in: dir)
        #expect(again.status == 0)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == Self.formatted)
    }

    @Test(.timeLimit(.minutes(1))) func aSyntaxErrorExitsOneWithFileLineAndColumnAndChangesNothing() async throws {
        let dir = TemporaryDirectory()
        let config = dir.sub("bad.alloy")
        let bad = "logging {\n  level = \"info\"\n  format = [\"a\",\n  \"b\"\n]\n}\n"
        try bad.write(toFile: config, atomically: true, encoding: .utf8)
        for arguments in ["'\(config)'", "--write '\(config)'"] {
            let result = try await fmt(arguments, in: dir)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.output.isEmpty, "\(arguments)")
            #expect(result.errors == "\(config):4:6: missing \",\" before newline in list\n", "\(arguments)")
            #expect(try String(contentsOfFile: config, encoding: .utf8) == bad)
        }
        let stdin = try await fmt("< '\(config)'", in: dir)
        #expect(stdin.errors.hasPrefix("<stdin>:4:6: "), "\(stdin.errors)")

        let latin1 = dir.sub("latin1.alloy")
        let bytes = Data("a = 1\nb = \"caf".utf8 + [0xE9] + "\"\n".utf8)
        try bytes.write(to: URL(fileURLWithPath: latin1))
        let notUTF8 = try await fmt("--write '\(latin1)'", in: dir)
        #expect(notUTF8.status == 1)
        #expect(notUTF8.errors == "\(latin1):2:9: illegal UTF-8 encoding\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: latin1)) == bytes)
    }

    @Test(.timeLimit(.minutes(1))) func testExitsOneWhenTheFileIsNotFormatted() async throws {
        let dir = TemporaryDirectory()
        let config = dir.sub("config.alloy")
        try Self.messy.write(toFile: config, atomically: true, encoding: .utf8)
        let unformatted = try await fmt("--test '\(config)'", in: dir)
        #expect(unformatted.status == 1)
        #expect(unformatted.output.isEmpty)
        #expect(unformatted.errors == "file \(config) is not formatted correctly\n")
        #expect(try String(contentsOfFile: config, encoding: .utf8) == Self.messy)
        try Self.formatted.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try await fmt("-t '\(config)'", in: dir).status == 0)
    }
}
