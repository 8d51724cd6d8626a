import Events
import Synchronization

/// One way a scrape's samples flow through the configuration graph: the `prometheus.relabel`
/// components met on the way, in order, and the receivers at its end (`SampleBatch.route`).
/// A scrape whose `forward_to` reaches its receivers by several ways has one pipeline per
/// distinct list of stages, and its samples are appended once per pipeline.
public struct MetricPipeline: Sendable, Equatable {
    public var stages: [MetricRelabelStage]
    /// The labels of the `prometheus.remote_write` components reached; nil: every one.
    public var route: [String]?

    public init(stages: [MetricRelabelStage] = [], route: [String]?) {
        self.stages = stages
        self.route = route
    }

    /// No relabelling, every receiver: what a scrape did before routes.
    public static let everywhere = MetricPipeline(route: nil)

    /// `labels` through every stage, and the index of the stage that dropped them (nil: none).
    func relabel(_ labels: Labels) -> (labels: Labels?, droppedAt: Int?) {
        var current = Dictionary(labels.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        for (index, stage) in stages.enumerated() {
            guard let next = Scrape.relabel(current, rules: stage.rules) else { return (nil, index) }
            current = next
        }
        return (Labels(current), nil)
    }
}

/// A `prometheus.relabel` component as a stage of a pipeline: its rules and its counters,
/// shared by every scrape loop whose samples pass through it.
public struct MetricRelabelStage: Sendable, Equatable {
    /// The component, e.g. `prometheus.relabel.drop_go`.
    public var id: String
    public var rules: [RelabelRule]
    public let counters: MetricRelabelCounters

    public init(id: String, rules: [RelabelRule], counters: MetricRelabelCounters) {
        self.id = id
        self.rules = rules
        self.counters = counters
    }

    public static func == (lhs: MetricRelabelStage, rhs: MetricRelabelStage) -> Bool {
        lhs.id == rhs.id && lhs.rules == rhs.rules
    }
}

/// What a `prometheus.relabel` component did, named as Alloy's debug metrics are
/// (`prometheus_relabel_metrics_processed`, `…_written`, `…_cache_hits`, `…_cache_misses`).
public final class MetricRelabelCounters: Sendable {
    private let state = Mutex(Reading())

    public struct Reading: Sendable, Equatable {
        /// Samples that entered the component.
        public var processed = 0
        /// Samples it passed on (the rest it dropped).
        public var written = 0
        /// Samples of series whose relabelled labels were known (kept with the target's series).
        public var cacheHits = 0
        /// Series relabelled for the first time (a new series of a target).
        public var cacheMisses = 0

        public init() {}
    }

    public init() {}

    public var reading: Reading { state.withLock { $0 } }

    func add(processed: Int, written: Int, hits: Int, misses: Int) {
        state.withLock {
            $0.processed += processed
            $0.written += written
            $0.cacheHits += hits
            $0.cacheMisses += misses
        }
    }
}

extension MetricRelabelCounters {
    /// The counters of every `prometheus.relabel` component the process has run, by ID: made
    /// once and kept across configuration reloads, as counters must be.
    private static let registry = Mutex<[String: MetricRelabelCounters]>([:])

    /// The counters of the component `id`, made on first use.
    public static func named(_ id: String) -> MetricRelabelCounters {
        registry.withLock { registry in
            if let counters = registry[id] { return counters }
            let made = MetricRelabelCounters()
            registry[id] = made
            return made
        }
    }

    /// Every component's reading, sorted by ID.
    public static var all: [(id: String, reading: Reading)] {
        registry.withLock { $0.map { ($0.key, $0.value.reading) } }.sorted { $0.id < $1.id }
    }
}
