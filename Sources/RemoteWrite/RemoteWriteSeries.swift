/// A series with its samples: the decoded form of one `prometheus.TimeSeries`, and the simple
/// input form for ``WriteRequestEncoder/encode(_:externalLabels:)``.
public struct RemoteWriteSeries: Hashable, Sendable {
    /// The labels, in the order they were sent or given.
    public var labels: [RemoteWriteLabel]
    /// The samples, in timestamp order.
    public var samples: [RemoteWriteSample]

    /// Creates a series.
    public init(labels: [RemoteWriteLabel], samples: [RemoteWriteSample]) {
        self.labels = labels
        self.samples = samples
    }
}
