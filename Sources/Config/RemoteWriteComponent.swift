import HTTPSecurity
import Scrape

/// `prometheus.remote_write "LABEL" { endpoint { … } … }`: where samples are sent.
public struct RemoteWriteComponent: Sendable, Hashable {
    public var id: ComponentID
    /// One or more endpoints, each receiving every sample.
    public var endpoints: [Endpoint]
    /// Labels added to every sample sent.
    public var externalLabels: [String: String] = [:]
    public var wal = WALOptions()

    /// One `endpoint` block.
    public struct Endpoint: Sendable, Hashable {
        public var url: String
        /// The endpoint's name in metrics; `<component id>.<index>` when not set.
        public var name: String
        public var remoteTimeout: Duration = .seconds(30)
        public var headers: [String: String] = [:]
        /// TLS, credentials, redirects, HTTP/2 and proxy for the requests.
        public var http = HTTPClientSettings()
        public var queue = QueueOptions()
        /// `write_relabel_config` blocks: applied to each series as it is sent to this endpoint
        /// (the WAL keeps it as the graph delivered it); a series they drop is not sent.
        public var writeRelabelRules: [RelabelRule] = []

        public init(url: String, name: String) {
            self.url = url
            self.name = name
        }
    }

    /// `queue_config`, with Alloy's defaults.
    public struct QueueOptions: Sendable, Hashable {
        public var capacity = 10000
        public var maxShards = 50
        public var minShards = 1
        public var maxSamplesPerSend = 2000
        public var batchSendDeadline: Duration = .seconds(5)
        public var minBackoff: Duration = .milliseconds(30)
        public var maxBackoff: Duration = .seconds(5)
        public var retryOnHTTP429 = true

        public init() {}
    }

    /// `wal`, with Alloy's defaults.
    public struct WALOptions: Sendable, Hashable {
        public var truncateFrequency: Duration = .seconds(2 * 3600)
        public var minKeepaliveTime: Duration = .seconds(5 * 60)
        public var maxKeepaliveTime: Duration = .seconds(8 * 3600)

        public init() {}
    }

    public init(id: ComponentID, endpoints: [Endpoint]) {
        self.id = id
        self.endpoints = endpoints
    }

    static let schema = BlockSchema(
        attributes: ["external_labels"], blocks: ["endpoint", "wal"], alloyOnlyBlocks: ["metadata_config"])

    static let endpointSchema = BlockSchema(
        attributes: Set(["url", "name", "remote_timeout", "headers"]).union(HTTPClientBlocks.attributes),
        blocks: Set(["queue_config", "write_relabel_config"]).union(HTTPClientBlocks.blocks),
        required: ["url"],
        alloyOnlyAttributes: Set(["send_exemplars", "send_native_histograms", "protobuf_message"]).union(
            HTTPClientBlocks.alloyOnlyAttributes),
        alloyOnlyBlocks: Set(["sigv4", "azuread", "metadata_config"]).union(
            HTTPClientBlocks.alloyOnlyBlocks))

    static let queueSchema = BlockSchema(
        attributes: [
            "capacity", "max_shards", "min_shards", "max_samples_per_send", "batch_send_deadline", "min_backoff",
            "max_backoff", "retry_on_http_429",
        ],
        alloyOnlyAttributes: ["sample_age_limit"])

    static let walSchema = BlockSchema(attributes: ["truncate_frequency", "min_keepalive_time", "max_keepalive_time"])

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        self.init(id: id, endpoints: [])
        externalLabels = try decoder.stringMap("external_labels") ?? [:]
        let evaluator = decoder.evaluator
        for (index, block) in decoder.blocks("endpoint").enumerated() {
            let endpoint = try BlockDecoder(block, title: "endpoint", schema: Self.endpointSchema, evaluator: evaluator)
            var decoded = Endpoint(
                url: try endpoint.string("url", default: ""),
                name: try endpoint.string("name", default: "\(id).\(index)"))
            decoded.remoteTimeout = try endpoint.duration("remote_timeout", default: decoded.remoteTimeout)
            decoded.headers = try endpoint.stringMap("headers") ?? [:]
            decoded.http = try HTTPClientBlocks.decode(endpoint)
            for rule in endpoint.blocks("write_relabel_config") {
                decoded.writeRelabelRules.append(
                    try RelabelComponent.rule(rule, evaluator: evaluator, title: "write_relabel_config"))
            }
            if let queueBlock = try endpoint.optionalBlock("queue_config") {
                let queue = try BlockDecoder(
                    queueBlock, title: "queue_config", schema: Self.queueSchema, evaluator: evaluator)
                var options = QueueOptions()
                options.capacity = try queue.int("capacity", default: options.capacity)
                options.maxShards = try queue.int("max_shards", default: options.maxShards, minimum: 1)
                options.minShards = try queue.int("min_shards", default: options.minShards, minimum: 1)
                options.maxSamplesPerSend = try queue.int(
                    "max_samples_per_send", default: options.maxSamplesPerSend, minimum: 1)
                options.batchSendDeadline = try queue.duration(
                    "batch_send_deadline", default: options.batchSendDeadline)
                options.minBackoff = try queue.duration("min_backoff", default: options.minBackoff)
                options.maxBackoff = try queue.duration("max_backoff", default: options.maxBackoff)
                options.retryOnHTTP429 = try queue.bool("retry_on_http_429", default: options.retryOnHTTP429)
                guard options.minShards <= options.maxShards else {
                    throw decoder.error(
                        "min_shards must not exceed max_shards in queue_config", at: queueBlock.position)
                }
                decoded.queue = options
            }
            endpoints.append(decoded)
        }
        if let walBlock = try decoder.optionalBlock("wal") {
            let walDecoder = try BlockDecoder(walBlock, title: "wal", schema: Self.walSchema, evaluator: evaluator)
            wal.truncateFrequency = try walDecoder.duration("truncate_frequency", default: wal.truncateFrequency)
            wal.minKeepaliveTime = try walDecoder.duration("min_keepalive_time", default: wal.minKeepaliveTime)
            wal.maxKeepaliveTime = try walDecoder.duration("max_keepalive_time", default: wal.maxKeepaliveTime)
        }
    }
}
