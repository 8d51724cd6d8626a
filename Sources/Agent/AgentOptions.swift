import Cluster

/// Everything `agentd run` takes on its command line, with Alloy's names and defaults.
public struct AgentOptions: Sendable {
    public var configPath: String
    /// `--server.http.listen-addr`
    public var listenAddress = "127.0.0.1:12345"
    /// `--storage.path`
    public var storagePath = "data-agentd"
    public var logLevel = "info"
    public var logFormat = "logfmt"
    public var cluster = ClusterOptions()
    /// WAL sync policy: `batch` (default), `never`, or an interval such as `1s`.
    public var walSync = "batch"
    /// `--storage.wal-sync-delay`: with `batch`, how long an append may wait for others to share
    /// its `fdatasync` (`0s`: none).
    public var walSyncDelay = "20ms"
    /// `--storage.wal-segment-size`: bytes after which the WAL starts a new segment.
    public var walSegmentSize = 128 << 20
    /// `--storage.remote.flush-deadline`: how long a shutdown waits for the forwarders to send
    /// what the WAL holds (Prometheus's flag and default).
    public var remoteFlushDeadline: Duration = .seconds(60)

    public init(configPath: String) { self.configPath = configPath }

    public struct ClusterOptions: Sendable {
        /// `--cluster.enabled`
        public var enabled = false
        /// `--cluster.node-name`; defaults to the hostname.
        public var nodeName: String?
        /// `--cluster.advertise-address`; defaults to the listen address, or, when the server
        /// listens on every address, to an address of the advertise interfaces.
        public var advertiseAddress: String?
        /// `--cluster.advertise-interfaces`: the interfaces an advertise address is chosen from
        /// (`all`: every one); nil: Alloy's `eth0,en0`, used only for a wildcard listen address.
        public var advertiseInterfaces: [String]?
        /// `--cluster.join-addresses`, comma-separated: IP addresses or DNS names, with an optional
        /// port (the HTTP port by default) and an optional `dns+`, `dnssrv+` or `dnssrvnoa+` prefix.
        public var joinAddresses: [String] = []
        /// `--cluster.max-join-peers`: how many of the join addresses' peers a join contacts,
        /// chosen at random (5, as in Alloy; 0: all).
        public var maxJoinPeers = 5
        /// `--cluster.rejoin-interval`
        public var rejoinInterval: Duration = .seconds(60)
        /// `--cluster.dead-member-retention`: how long dead and departed members stay peers.
        public var deadMemberRetention: Duration = MembershipSettings().deadMemberRetention
        /// `--cluster.name`
        public var name = ""
        /// `--cluster.wait-for-size`: scrape nothing until the cluster has this many members.
        public var waitForSize = 0
        /// `--cluster.wait-timeout`: stop waiting after this long (0: wait forever).
        public var waitTimeout: Duration = .seconds(0)
        /// `--cluster.secret-file`: a shared key authenticating every gossip message.
        public var secretFile: String?
        /// `--cluster.enable-tls`: gossip and hand-offs over HTTPS with mutual TLS, and the HTTP
        /// server (which carries them) on TLS.
        public var enableTLS = false
        /// `--cluster.tls-ca-path`: the CA that signs every member's certificate.
        public var tlsCAPath: String?
        /// `--cluster.tls-cert-path`: this member's certificate, presented as server and as client.
        public var tlsCertPath: String?
        /// `--cluster.tls-key-path`: its private key.
        public var tlsKeyPath: String?
        /// `--cluster.tls-server-name`: the name peers' certificates are verified against, instead
        /// of the address they are reached at.
        public var tlsServerName: String?

        public init() {}
    }
}
