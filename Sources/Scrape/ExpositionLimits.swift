/// Limits an exposition must keep to, checked while it is parsed: the first line that breaks one
/// ends parsing with an ``ExpositionError`` naming the limit (``ExpositionError/kind``), its line
/// and its column. 0 means no limit, as in Prometheus.
///
/// The semantics are Prometheus's (`sample_limit`, `label_limit`, `label_name_length_limit`,
/// `label_value_length_limit`), applied to what the exposition writes: a series counts its metric
/// name as the label `__name__`, labels with an empty value are not counted (Prometheus drops
/// them), lengths are in bytes of the unescaped text. The scrape loop checks the same limits again
/// on a new series once the target's labels are added.
public struct ExpositionLimits: Sendable, Hashable {
    /// Most sample lines.
    public var samples: Int
    /// Most labels per series, the metric name included.
    public var labels: Int
    /// Longest label name, in bytes (`__name__` counts as 8).
    public var labelNameLength: Int
    /// Longest label value, in bytes once unescaped; the metric name is the value of `__name__`.
    public var labelValueLength: Int

    /// No limit at all: what `agentd check-metrics` checks.
    public static let none = ExpositionLimits()

    public init(samples: Int = 0, labels: Int = 0, labelNameLength: Int = 0, labelValueLength: Int = 0) {
        self.samples = samples
        self.labels = labels
        self.labelNameLength = labelNameLength
        self.labelValueLength = labelValueLength
    }
}
