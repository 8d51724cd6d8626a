import Events
import HTTPSecurity

/// How one scrape job scrapes its targets (a `prometheus.scrape` component).
public struct ScrapeSettings: Sendable, Equatable {
    public var jobName: String
    public var interval: Duration
    /// Bounds the whole scrape: the request, the body and its parsing.
    public var timeout: Duration
    public var metricsPath: String
    public var scheme: String
    public var params: [String: [String]]
    public var honorLabels: Bool
    public var honorTimestamps: Bool
    /// 0: no limit. A scrape with more sample lines fails as a whole, at the first line past it.
    public var sampleLimit: Int
    /// The most bytes of body, counted after gzip decoding. 0: agentd's default,
    /// ``defaultBodySizeLimit``.
    public var bodySizeLimit: Int
    /// 0: no limit. The most labels a series may have, its metric name and the target's labels
    /// included. agentd's own ceiling, `Labels.maximumCount`, applies whatever the setting.
    public var labelLimit: Int
    /// 0: no limit. The longest label name, in bytes.
    public var labelNameLengthLimit: Int
    /// 0: no limit. The longest label value (the metric name included), in bytes.
    public var labelValueLengthLimit: Int
    /// How the job connects and authenticates: `tls_config`, `basic_auth`, `authorization`,
    /// `bearer_token(_file)`, `follow_redirects`, `enable_http2`, `proxy_url`.
    public var http: HTTPClientSettings
    /// 0: no limit. The most targets the job may have; with more, every target's scrape fails
    /// (Prometheus's `target_limit`).
    public var targetLimit = 0
    /// Set by the scrape service while the job is over its `target_limit`: the reason every
    /// scrape of the job fails with.
    public var targetLimitFailure: String?
    /// The labels a target's owner is hashed from (`clustering { hash_labels }`, after the
    /// defaults of `job` and `instance` are filled in); empty: the target's key decides.
    public var hashLabels: [String] = []
    /// How many members scrape each slot of a clustered target (`clustering { replicas }`). Above
    /// one, samples are stamped with the slot's nominal time, so that the replicas' samples carry
    /// the same timestamp and a receiver keeps one of them.
    public var replicas = 1
    /// The member whose scrapes of a clustered job also write `agentd_target_owner{…, owner=}` 1,
    /// which becomes stale when the slots go to another member; nil: no owner series.
    public var ownerSeries: String?
    /// How the job's samples flow through the configuration graph (`forward_to`): the
    /// `prometheus.relabel` stages and the receivers of each path (`SampleBatch.route`). The
    /// samples are appended once per pipeline; an empty list counts as ``MetricPipeline/everywhere``.
    public var pipelines: [MetricPipeline]

    /// The body size limit when a job sets none: 16 MiB, vmagent's default
    /// (`-promscrape.maxScrapeSize`); 50 to 250 times a node exporter's body. A bigger body is
    /// refused before it is parsed, a gzip body as soon as its decoded size passes it. See the
    /// README's "Scrape limits".
    public static let defaultBodySizeLimit = 16 << 20

    public init(
        jobName: String, interval: Duration = .seconds(60), timeout: Duration = .seconds(10),
        metricsPath: String = "/metrics", scheme: String = "http", params: [String: [String]] = [:],
        honorLabels: Bool = false, honorTimestamps: Bool = true, sampleLimit: Int = 0, bodySizeLimit: Int = 0,
        labelLimit: Int = 0, labelNameLengthLimit: Int = 0, labelValueLengthLimit: Int = 0,
        http: HTTPClientSettings = HTTPClientSettings(), pipelines: [MetricPipeline] = [.everywhere]
    ) {
        self.jobName = jobName
        self.interval = interval
        self.timeout = timeout
        self.metricsPath = metricsPath
        self.scheme = scheme
        self.params = params
        self.honorLabels = honorLabels
        self.honorTimestamps = honorTimestamps
        self.sampleLimit = sampleLimit
        self.bodySizeLimit = bodySizeLimit
        self.labelLimit = labelLimit
        self.labelNameLengthLimit = labelNameLengthLimit
        self.labelValueLengthLimit = labelValueLengthLimit
        self.http = http
        self.pipelines = pipelines.isEmpty ? [.everywhere] : pipelines
    }

    /// The body size limit in force: the job's, or the default.
    public var effectiveBodySizeLimit: Int { bodySizeLimit > 0 ? bodySizeLimit : Self.defaultBodySizeLimit }

    /// The label limit in force: the job's, never above agentd's ceiling.
    public var effectiveLabelLimit: Int {
        labelLimit > 0 ? min(labelLimit, Labels.maximumCount) : Labels.maximumCount
    }

    /// What the parser checks while it reads a body.
    var expositionLimits: ExpositionLimits {
        ExpositionLimits(
            samples: sampleLimit, labels: effectiveLabelLimit, labelNameLength: labelNameLengthLimit,
            labelValueLength: labelValueLengthLimit)
    }

    var intervalNanoseconds: Int64 {
        interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
    }

    var intervalMilliseconds: Int64 {
        Int64(interval.components.seconds) * 1000 + Int64(interval.components.attoseconds / 1_000_000_000_000_000)
    }

    var timeoutMilliseconds: Int64 {
        Int64(timeout.components.seconds) * 1000 + Int64(timeout.components.attoseconds / 1_000_000_000_000_000)
    }
}
