import Agent
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the agent with an Alloy configuration file.")

    @Argument(help: "The Alloy configuration file.")
    var config: String

    @Option(name: .customLong("server.http.listen-addr"), help: "Address for the HTTP API, UI and gossip.")
    var listenAddress = "127.0.0.1:12345"

    @Option(name: .customLong("storage.path"), help: "Directory for the WAL and the index.")
    var storagePath = "data-agentd"

    @Option(name: .customLong("storage.wal-sync"), help: "WAL sync policy: batch, never, or an interval such as 1s.")
    var walSync = "batch"

    @Option(
        name: .customLong("storage.wal-sync-delay"),
        help: "With --storage.wal-sync=batch: how long an append may wait for others to share its fdatasync (0s: none)."
    )
    var walSyncDelay = "20ms"

    @Option(
        name: .customLong("storage.wal-segment-size"),
        help: "Bytes after which the WAL starts a new segment (default 128 MiB).")
    var walSegmentSize = 128 << 20

    @Option(
        name: .customLong("storage.remote.flush-deadline"),
        help: "How long shutdown waits for remote write to send what the WAL holds.")
    var flushDeadline = "1m"

    @Option(name: .customLong("log.level"), help: "debug, info, warn or error.")
    var logLevel = "info"

    @Option(name: .customLong("log.format"), help: "logfmt or json.")
    var logFormat = "logfmt"

    @Option(name: .customLong("cluster.enabled"), help: "Join a cluster and share the targets.")
    var clusterEnabled = false

    @Option(name: .customLong("cluster.node-name"), help: "This member's name (default: the hostname).")
    var nodeName: String?

    @Option(name: .customLong("cluster.advertise-address"), help: "host:port other members reach this one at.")
    var advertiseAddress: String?

    @Option(
        name: .customLong("cluster.advertise-interfaces"),
        help:
            "Comma-separated interfaces to choose the advertise address from (all: every one); default eth0,en0 when listening on 0.0.0.0."
    )
    var advertiseInterfaces: String?

    @Option(
        name: .customLong("cluster.join-addresses"),
        help:
            "Comma-separated addresses of members to join: IPs or DNS names, optional :port, optional dns+, dnssrv+ or dnssrvnoa+ prefix."
    )
    var joinAddresses = ""

    @Option(
        name: .customLong("cluster.max-join-peers"),
        help: "How many of the peers the join addresses stand for a join contacts (0: all).")
    var maxJoinPeers = 5

    @Option(name: .customLong("cluster.rejoin-interval"), help: "How often to rejoin the join addresses.")
    var rejoinInterval = "60s"

    @Option(
        name: .customLong("cluster.dead-member-retention"),
        help: "How long a dead or departed member stays a peer before it is forgotten (the WAL keeps it).")
    var deadMemberRetention = "5m"

    @Option(name: .customLong("cluster.name"), help: "Only members with the same cluster name may join.")
    var clusterName = ""

    @Option(name: .customLong("cluster.wait-for-size"), help: "Scrape nothing until the cluster has this many members.")
    var waitForSize = 0

    @Option(name: .customLong("cluster.wait-timeout"), help: "Stop waiting for the cluster size after this long.")
    var waitTimeout = "0s"

    @Option(name: .customLong("cluster.secret-file"), help: "A file holding the shared gossip key.")
    var secretFile: String?

    @Option(
        name: .customLong("cluster.enable-tls"),
        help: "Gossip over HTTPS with mutual TLS; the HTTP server then serves TLS too.")
    var enableTLS = false

    @Option(name: .customLong("cluster.tls-ca-path"), help: "The CA certificate that signs every member's certificate.")
    var tlsCAPath: String?

    @Option(name: .customLong("cluster.tls-cert-path"), help: "This member's certificate (PEM).")
    var tlsCertPath: String?

    @Option(name: .customLong("cluster.tls-key-path"), help: "This member's private key (PEM).")
    var tlsKeyPath: String?

    @Option(
        name: .customLong("cluster.tls-server-name"),
        help: "The name peers' certificates are verified against (default: the address they are reached at).")
    var tlsServerName: String?

    func run() async throws {
        guard let format = AgentLogHandler.Format(rawValue: logFormat) else {
            throw ValidationError("--log.format must be logfmt or json")
        }
        let level = Logger.Level(rawValue: logLevel == "warn" ? "warning" : logLevel) ?? .info
        LoggingSystem.bootstrap { label in AgentLogHandler(label: label, level: level, format: format) }
        var options = AgentOptions(configPath: config)
        options.listenAddress = listenAddress
        options.storagePath = storagePath
        options.walSync = walSync
        options.walSyncDelay = walSyncDelay
        guard walSegmentSize >= 64 << 10 else {
            throw ValidationError("--storage.wal-segment-size must be at least 65536 bytes")
        }
        options.walSegmentSize = walSegmentSize
        options.logLevel = logLevel
        options.cluster.enabled = clusterEnabled
        options.cluster.nodeName = nodeName
        options.cluster.advertiseAddress = advertiseAddress
        options.cluster.advertiseInterfaces = advertiseInterfaces.map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        options.cluster.joinAddresses = joinAddresses.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        options.cluster.name = clusterName
        guard maxJoinPeers >= 0 else { throw ValidationError("--cluster.max-join-peers must be 0 or more") }
        options.cluster.maxJoinPeers = maxJoinPeers
        options.cluster.waitForSize = waitForSize
        options.cluster.secretFile = secretFile
        options.cluster.enableTLS = enableTLS
        options.cluster.tlsCAPath = tlsCAPath
        options.cluster.tlsCertPath = tlsCertPath
        options.cluster.tlsKeyPath = tlsKeyPath
        options.cluster.tlsServerName = tlsServerName
        do {
            options.cluster.rejoinInterval = try parseDuration(rejoinInterval, flag: "--cluster.rejoin-interval")
            options.cluster.deadMemberRetention = try parseDuration(
                deadMemberRetention, flag: "--cluster.dead-member-retention")
            options.cluster.waitTimeout = try parseDuration(waitTimeout, flag: "--cluster.wait-timeout")
            options.remoteFlushDeadline = try parseDuration(flushDeadline, flag: "--storage.remote.flush-deadline")
            let logger = Logger(label: "agentd")
            try await buildApplication(options: options, logger: logger).run()
        } catch let error as AgentError {
            FileHandle.standardError.write(Data("agentd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
