import Agent
import ArgumentParser
import Events
import Foundation
import WAL

struct WALCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Inspect, verify or repair a write-ahead log.",
        subcommands: [Inspect.self, Verify.self, Repair.self]
    )

    /// Accepts either the WAL directory itself or the agent's storage path.
    static func resolve(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        let nested = path + "/wal"
        if FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue {
            return nested
        }
        return path
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Segments, record counts by kind, time range and bytes per sample.")

        @Argument(help: "The WAL directory, or the agent's --storage.path.")
        var directory: String = "data-agentd"

        func run() throws {
            let summary = try LogSummary.read(directory: WALCommand.resolve(directory))
            let kinds = EventKind.allCases
            print(
                (["segment", "bytes"] + kinds.map(\.description) + ["samples", "first", "last"])
                    .joined(separator: "\t"))
            for segment in summary.segments {
                let counts = kinds.map { String(segment.records[$0] ?? 0) }
                let range = [segment.minTimestamp, segment.maxTimestamp].map { $0.map(formatTimestamp) ?? "-" }
                print(
                    ([SegmentName.format(segment.segment), String(segment.bytes)] + counts + [String(segment.samples)]
                        + range).joined(separator: "\t"))
            }
            print(
                "\(summary.segments.count) segments, \(summary.totalBytes) bytes, \(summary.totalSamples) samples, "
                    + String(format: "%.3f bytes/sample", summary.bytesPerSample))
            for problem in summary.problems { print("problem: \(problem)") }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every record; exit 1 and print segment:offset of every problem.")

        @Argument(help: "The WAL directory, or the agent's --storage.path.")
        var directory: String = "data-agentd"

        func run() throws {
            let path = WALCommand.resolve(directory)
            // Two passes over every byte: the frames, then the events.
            let scale = WALProgressScale(directory: path)
            let meter = ProgressMeter(title: "wal verify", total: 2 * scale.total)
            let report = try WAL.Repair.report(directory: path) { meter.update(scale.bytes(before: $0)) }
            var problems = report.problems.map(\.description)
            // Records that are intact on disk must also decode as events: readers skip those that do not.
            var reader = try EventReader(directory: path)
            var records = 0
            while let (record, _) = try reader.next() {
                records += 1
                if records % 1024 == 0 { meter.update(scale.total + scale.bytes(before: record.position)) }
            }
            meter.finish()
            for cut in report.cutOut { print(cut) }
            problems += reader.skipped.map { "\($0) (readers skip this record; `agentd wal repair` cuts it out)" }
            if problems.isEmpty {
                print("\(path): OK")
                return
            }
            for problem in Set(problems).sorted() { print(problem) }
            throw ExitCode(1)
        }
    }

    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Cut damaged and undecodable records out of closed segments in place (padding) and truncate "
                + "the newest segment's torn tail; later records and segments are kept.")

        @Argument(help: "The WAL directory, or the agent's --storage.path. The agent must be stopped.")
        var directory: String = "data-agentd"

        func run() throws {
            let path = WALCommand.resolve(directory)
            var cuts = try WAL.Repair.cutDamage(directory: path).map(\.description)
            // Records intact on disk that do not decode: replaced by padding too, so verify is clean.
            var reader = try EventReader(directory: path)
            while try reader.next() != nil {}
            for error in reader.skipped {
                try WAL.Repair.cutOut(directory: path, record: error.position)
                cuts.append("\(error.position): cut out a record that does not decode (\(error.underlying))")
            }
            for cut in cuts { print(cut) }
            if cuts.isEmpty { print("nothing to repair") }
        }
    }
}
