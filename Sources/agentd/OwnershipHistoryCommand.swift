import Agent
import ArgumentParser
import Events
import Foundation
import Projections

struct OwnershipHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ownership-history",
        abstract: "Which member owned which target, from when to when, and why it changed.")

    @Option(help: "A target: its key (16 hex digits) or labels such as instance=node-exporter-1 (repeatable).")
    var target: [String] = []

    @Option(help: "Only changes to or from this member.")
    var member: String?

    @Option(help: "Start of the window: a duration back from now (2h) or an RFC 3339 time.")
    var since: String?

    @Option(help: "End of the window.")
    var until: String?

    @Option(help: "table (readable) or json (complete).")
    var format = "table"

    @Option(name: .customLong("storage.path"), help: "The agent's storage path.")
    var storagePath = "data-agentd"

    func run() throws {
        do {
            let query = try ownershipQuery(targets: target, member: member, since: since, until: until)
            guard format == "table" || format == "json" else { throw AgentError("--format must be table or json") }
            let store = try StoragePaths(storagePath).catchUpIndex()
            let events = try store.ownershipHistory(query)
            if format == "json" {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(events.map(OwnershipChangeRow.init)), as: UTF8.self))
                return
            }
            printTable(
                header: ["EFFECTIVE", "TARGET", "FROM", "TO", "WHY"],
                rows: events.map { event in
                    [
                        formatTimestamp(event.effectiveTime), OwnershipChangeRow.targetName(event),
                        event.previousOwner ?? "-",
                        event.newOwner ?? "-", event.causeDetail,
                    ]
                })
        } catch let error as AgentError {
            FileHandle.standardError.write(Data("agentd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

func printTable(header: [String], rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}
