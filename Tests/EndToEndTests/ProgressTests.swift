import Events
import Foundation
import TestSupport
import Testing
import WAL

extension EndToEnd {
    /// Long commands show their progress on standard error: a bar redrawn in place under a
    /// terminal (a pseudo-terminal from util-linux's `script`), plain lines in a pipe.
    @Suite struct ProgressTests {
        /// A WAL of a few segments, written the way the agent writes one.
        static func makeWAL(in directory: String) throws {
            let log = try EventLog(
                directory: directory, options: .init(segmentSize: 256 << 10, sync: .never), checkpointInterval: 64 << 10
            )
            let refs = log.refs(for: (0..<500).map { Labels(["__name__": "m", "i": "\($0)"]) })
            for scrape in 0..<300 {
                try log.append(
                    SampleBatch(
                        target: 1, timestamp: 1_800_000_000_000 + Int64(scrape) * 1000, refs: refs,
                        values: refs.indices.map { Double($0 * scrape) }))
            }
            try log.close()
        }

        /// Runs `agentd` with `arguments` under a pseudo-terminal; its output as the terminal got it.
        static func underTerminal(_ arguments: [String]) async throws -> (Int32, String) {
            let command = ([AgentProcess.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
            let child = try ChildProcess("/usr/bin/script", ["-qec", command, "/dev/null"], name: "agentd-pty")
            guard let status = await child.waitForExit(within: .seconds(60)) else {
                await child.kill9()
                throw TestSupportError("agentd \(arguments.joined(separator: " ")) did not finish under script")
            }
            return (status, child.log)
        }

        @Test(.timeLimit(.minutes(2)), arguments: [["wal", "verify"], ["index", "rebuild", "--storage.path"]])
        func aLongCommandDrawsABarOnATerminalAndPlainLinesInAPipe(command: [String]) async throws {
            let dir = TemporaryDirectory()
            try FileManager.default.createDirectory(atPath: dir.sub("data"), withIntermediateDirectories: true)
            try Self.makeWAL(in: dir.sub("data/wal"))
            let title = command.prefix(2).joined(separator: " ")
            let arguments = command + [dir.sub("data")]

            let (ttyStatus, tty) = try await Self.underTerminal(arguments)
            #expect(ttyStatus == 0, "\(tty)")
            // Redrawn in place (carriage return, erase line), ending at 100% with a rate and the time left.
            #expect(tty.contains("\r\u{1B}[2K\(title)"), "\(tty.debugDescription)")
            #expect(tty.contains("\(title) 100% [####################]"), "\(tty.debugDescription)")
            #expect(tty.contains("/s  ETA "), "\(tty.debugDescription)")

            let (pipeStatus, piped) = try await AgentProcess.run(arguments)
            #expect(pipeStatus == 0, "\(piped)")
            // No control characters and no bar: whole lines, the last at 100%.
            #expect(!piped.contains("\r") && !piped.contains("\u{1B}") && !piped.contains("["), "\(piped)")
            #expect(piped.split(separator: "\n").contains { $0.hasPrefix("\(title) 100%  ") }, "\(piped)")
        }
    }
}
