import Events
import Foundation
import TestSupport
import Testing
import WAL

@Suite struct CrashSafetyTests {
    @Test(.timeLimit(.minutes(3))) func everyAcknowledgedBatchSurvivesSIGKILL() async throws {
        let helper = productsDirectory().appendingPathComponent("WALCrashHelper")
        try #require(FileManager.default.isExecutableFile(atPath: helper.path), "build WALCrashHelper first")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agentd-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var acknowledged = Set<Int>()
        var next = 0
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let child = try ChildProcess(helper.path, [dir.path, String(next)], name: "wal-crash-helper")
            defer { try? FileManager.default.removeItem(atPath: child.logPath) }
            // The workload, not a synchronization: how long the helper appends before the kill
            // decides where in a write the kill lands. `Task.sleep` holds no thread meanwhile.
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...400, using: &generator)))
            await child.kill9()
            #expect(
                child.process.terminationReason == .uncaughtSignal, "round \(round): the helper exited on its own")
            for line in child.log.split(separator: "\n") where line.hasPrefix("ack ") {
                acknowledged.insert(Int(line.dropFirst(4))!)
            }

            // Reopen as the agent would (this truncates a torn tail), then read everything back.
            let log = try EventLog(directory: dir.path, options: .init(sync: .never))
            try log.close()
            var reader = try EventReader(directory: dir.path)
            var found: [Int: [Double]] = [:]
            while let (_, event) = try reader.next() {
                if case .samples(let batch) = event { found[Int(batch.target)] = batch.values }
            }
            #expect(reader.corruptions.isEmpty, "round \(round): \(reader.corruptions)")
            for index in acknowledged {
                let values = (0..<50).map { Double(index) * 1.5 + Double($0) }
                #expect(found[index] == values, "round \(round): acknowledged batch \(index) lost or damaged")
            }
            next = (found.keys.max() ?? -1) + 1
        }
        #expect(acknowledged.count > 20)
    }
}
