/// One way samples handed to a `forward_to` list flow through the graph: the
/// `prometheus.relabel` components met on the way, in order, and the labels of the
/// `prometheus.remote_write` components at the end.
public struct SampleRoute: Sendable, Hashable {
    public var stages: [ComponentID]
    /// Sorted, each once.
    public var receivers: [String]

    public init(stages: [ComponentID], receivers: [String]) {
        self.stages = stages
        self.receivers = receivers
    }
}

extension AgentConfig {
    /// Where samples handed to `receivers` (a `forward_to` list) end up, one route per distinct
    /// list of `prometheus.relabel` stages. Paths that reach no `prometheus.remote_write` are
    /// left out; when none reaches one (`forward_to = []`, or relabel components that forward to
    /// nothing), the one route left has no stages and no receivers: Alloy drops such samples,
    /// agentd keeps them in the WAL for `replay` and the history, and sends them nowhere.
    public func routes(_ receivers: [ComponentID]) -> [SampleRoute] {
        var order: [[ComponentID]] = []
        var found: [[ComponentID]: Set<String>] = [:]
        func walk(_ receivers: [ComponentID], _ stages: [ComponentID]) {
            for id in receivers {
                switch id.name {
                case "prometheus.remote_write":
                    if found[stages] == nil { order.append(stages) }
                    found[stages, default: []].insert(id.label)
                case "prometheus.relabel":
                    // The graph has no cycles (ComponentGraph refuses them); the check is a guard.
                    guard !stages.contains(id), let relabel = prometheusRelabel(id) else { continue }
                    walk(relabel.forwardTo, stages + [id])
                default:
                    continue
                }
            }
        }
        walk(receivers, [])
        guard !order.isEmpty else { return [SampleRoute(stages: [], receivers: [])] }
        return order.map { SampleRoute(stages: $0, receivers: found[$0]!.sorted()) }
    }

    /// The `prometheus.relabel` component with this ID, if any.
    public func prometheusRelabel(_ id: ComponentID) -> PrometheusRelabelComponent? {
        prometheusRelabels.first { $0.id == id }
    }
}
