import HTTPSecurity
import Scrape

/// `prometheus.scrape "LABEL" { … }`: what to scrape, how often, and where samples go.
public struct ScrapeComponent: Sendable, Hashable {
    public var id: ComponentID
    /// The targets, static or discovered at run time.
    public var targets: TargetsSource
    /// The `prometheus.remote_write` components that receive the samples.
    public var forwardTo: [ComponentID]
    /// The `job` label; `prometheus.scrape.LABEL` by default, as in Alloy.
    public var jobName: String
    public var scrapeInterval: Duration = .seconds(60)
    public var scrapeTimeout: Duration = .seconds(10)
    public var metricsPath = "/metrics"
    public var scheme = "http"
    /// URL query parameters.
    public var params: [String: [String]] = [:]
    public var honorLabels = false
    public var honorTimestamps = true
    /// Most samples per scrape; 0 means no limit.
    public var sampleLimit = 0
    /// Largest uncompressed body in bytes; 0 (unset) means agentd's default,
    /// `ScrapeSettings.defaultBodySizeLimit` (16 MiB), where Alloy has no limit.
    public var bodySizeLimit: Int64 = 0
    /// Most labels per series, the metric name and the target's labels included; 0 means no
    /// limit (agentd's ceiling of 65,536 labels per series holds whatever the setting).
    public var labelLimit = 0
    /// Longest label name in bytes; 0 means no limit.
    public var labelNameLengthLimit = 0
    /// Longest label value in bytes; 0 means no limit.
    public var labelValueLengthLimit = 0
    /// Most targets (after relabelling); with more, every target of the job fails. 0 means no limit.
    public var targetLimit = 0
    /// `clustering { enabled = true }`: share the targets among the cluster's members.
    public var clusteringEnabled = false
    /// `clustering { hash_labels = ["job", "instance"] }`: the labels a target's owner is hashed
    /// from; empty: all labels but `__meta_*` (the target's key).
    public var clusteringHashLabels: [String] = []
    /// `clustering { replicas = 2 }`: how many members scrape each target at every slot.
    public var clusteringReplicas = 1
    /// `clustering { balance = "series" }`: what the members' shares even out, the targets
    /// (`"targets"`, the default: the hash ring) or their series (`"series"`).
    public var clusteringBalance = "targets"
    /// The values `balance` may take.
    public static let clusteringBalances = ["targets", "series"]
    /// TLS, credentials, redirects, HTTP/2 and proxy for the scrapes.
    public var http = HTTPClientSettings()

    public init(id: ComponentID, targets: TargetsSource, forwardTo: [ComponentID]) {
        self.id = id
        self.targets = targets
        self.forwardTo = forwardTo
        self.jobName = id.description
    }

    static let schema = BlockSchema(
        attributes: Set([
            "targets", "forward_to", "job_name", "scrape_interval", "scrape_timeout", "metrics_path", "scheme",
            "params", "honor_labels", "honor_timestamps", "sample_limit", "body_size_limit", "label_limit",
            "label_name_length_limit", "label_value_length_limit", "target_limit",
        ]).union(HTTPClientBlocks.attributes),
        blocks: Set(["clustering"]).union(HTTPClientBlocks.blocks),
        required: ["targets", "forward_to"],
        alloyOnlyAttributes: Set([
            "extra_metrics", "enable_protobuf_negotiation", "scrape_protocols", "scrape_classic_histograms",
            "scrape_native_histograms", "native_histogram_bucket_limit", "native_histogram_min_bucket_factor",
            "convert_classic_histograms_to_nhcb", "enable_compression", "track_timestamps_staleness",
            "metric_name_validation_scheme", "metric_name_escaping_scheme",
            "scrape_fallback_protocol", "honor_metadata", "enable_type_and_unit_labels",
        ]).union(HTTPClientBlocks.alloyOnlyAttributes),
        alloyOnlyBlocks: HTTPClientBlocks.alloyOnlyBlocks)

    static let clusteringSchema = BlockSchema(
        attributes: ["enabled", "hash_labels", "replicas", "balance"], required: ["enabled"])

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        self.init(
            id: id, targets: try decoder.targets("targets") ?? .static([]),
            forwardTo: try decoder.receivers("forward_to") ?? [])
        jobName = try decoder.string("job_name", default: jobName)
        scrapeInterval = try decoder.duration("scrape_interval", default: scrapeInterval)
        scrapeTimeout = try decoder.duration("scrape_timeout", default: scrapeTimeout)
        metricsPath = try decoder.string("metrics_path", default: metricsPath)
        scheme = try decoder.string("scheme", default: scheme)
        honorLabels = try decoder.bool("honor_labels", default: honorLabels)
        honorTimestamps = try decoder.bool("honor_timestamps", default: honorTimestamps)
        sampleLimit = try decoder.int("sample_limit", default: sampleLimit)
        bodySizeLimit = try decoder.bytes("body_size_limit", default: bodySizeLimit)
        labelLimit = try decoder.int("label_limit", default: labelLimit)
        labelNameLengthLimit = try decoder.int("label_name_length_limit", default: labelNameLengthLimit)
        labelValueLengthLimit = try decoder.int("label_value_length_limit", default: labelValueLengthLimit)
        targetLimit = try decoder.int("target_limit", default: targetLimit)
        if let (value, position) = try decoder.value("params") {
            params = try Self.params(value, position: position, decoder: decoder)
        }
        http = try HTTPClientBlocks.decode(decoder)
        if let block = try decoder.optionalBlock("clustering") {
            let clustering = try BlockDecoder(
                block, title: "clustering", schema: Self.clusteringSchema, evaluator: decoder.evaluator)
            clusteringEnabled = try clustering.bool("enabled", default: false)
            clusteringHashLabels = try clustering.stringList("hash_labels") ?? []
            clusteringReplicas = try clustering.int("replicas", default: 1, minimum: 1)
            clusteringBalance = try clustering.string("balance", default: "targets")
            if !Self.clusteringBalances.contains(clusteringBalance) {
                throw clustering.error(
                    "attribute \"balance\" of clustering must be \"targets\" or \"series\", not \"\(clusteringBalance)\"",
                    at: try clustering.value("balance")?.position ?? block.position)
            }
            if clusteringBalance == "series" && clusteringReplicas > 1 {
                throw clustering.error(
                    "clustering of \(decoder.title): balance = \"series\" places one owner per target; it cannot be combined with replicas = \(clusteringReplicas)",
                    at: try clustering.value("balance")?.position ?? block.position)
            }
            if let invalid = clusteringHashLabels.first(where: { !RelabelRule.isValidLabelName($0) }) {
                throw clustering.error(
                    "hash_labels of \(decoder.title): \"\(invalid)\" is not a valid label name",
                    at: try clustering.value("hash_labels")?.position ?? block.position)
            }
        }

        guard scheme == "http" || scheme == "https" else {
            throw decoder.error(
                "attribute \"scheme\" of \(decoder.title) must be \"http\" or \"https\", not \"\(scheme)\"",
                at: try decoder.value("scheme")?.position ?? decoder.block.position)
        }
        guard scrapeTimeout <= scrapeInterval else {
            throw decoder.error(
                "scrape_timeout (\(scrapeTimeout)) greater than scrape_interval (\(scrapeInterval)) in \(decoder.title)",
                at: decoder.block.position)
        }
    }

    private static func params(_ value: Value, position: SourcePosition, decoder: BlockDecoder) throws(Diagnostic)
        -> [String: [String]]
    {
        let invalid = decoder.error(
            "attribute \"params\" of \(decoder.title) must be an object of lists of strings", at: position)
        guard case .object(let fields) = value else { throw invalid }
        var params: [String: [String]] = [:]
        for (key, field) in fields {
            guard case .array(let items) = field else { throw invalid }
            var values: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw invalid }
                values.append(text)
            }
            params[key] = values
        }
        return params
    }
}
