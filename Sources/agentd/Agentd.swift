import ArgumentParser

@main
struct Agentd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentd",
        abstract: "A clustered Prometheus metrics agent with a durable, replayable event log.",
        version: "0.1.0",
        subcommands: [
            RunCommand.self, FmtCommand.self, ReplayCommand.self, OwnershipHistoryCommand.self,
            CheckMetricsCommand.self,
            MembersCommand.self, TargetsCommand.self, IndexCommand.self, WALCommand.self,
        ]
    )
}
