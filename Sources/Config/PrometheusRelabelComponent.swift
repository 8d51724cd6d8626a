import Scrape

/// `prometheus.relabel "LABEL" { forward_to = […]  rule { … } … }`: relabels the samples sent
/// to its `receiver` and passes what its rules keep to `forward_to`.
public struct PrometheusRelabelComponent: Sendable, Hashable {
    public var id: ComponentID
    public var forwardTo: [ComponentID]
    public var rules: [RelabelRule]
    /// Alloy's relabel cache size (default 100,000). agentd keeps each series' relabelled
    /// labels with the scraping target's series instead, for as long as the target exposes the
    /// series, so the setting is checked (at least 1) and has nothing else to bound.
    public var maxCacheSize = 100_000

    public init(id: ComponentID, forwardTo: [ComponentID], rules: [RelabelRule]) {
        self.id = id
        self.forwardTo = forwardTo
        self.rules = rules
    }

    static let schema = BlockSchema(
        attributes: ["forward_to", "max_cache_size"], blocks: ["rule"], required: ["forward_to"],
        alloyOnlyAttributes: ["cache_ttl"])

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        var rules: [RelabelRule] = []
        for block in decoder.blocks("rule") {
            rules.append(try RelabelComponent.rule(block, evaluator: decoder.evaluator))
        }
        self.init(id: id, forwardTo: try decoder.receivers("forward_to") ?? [], rules: rules)
        maxCacheSize = try decoder.int("max_cache_size", default: maxCacheSize, minimum: 1)
    }
}
