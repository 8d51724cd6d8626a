import Config
import Foundation
import Hummingbird

/// Alloy's component API for the web UI: `/api/v0/web/components` (every component with its
/// health and edges), `/api/v0/web/components/{id}` (one, with its evaluated arguments, exports
/// and debug info) and `/api/v0/web/graph` (what leaves each component, with rates: the Graph
/// page's edges).
struct ComponentsController: Sendable {
    let registry: ComponentRegistry

    /// A component as Alloy's `/api/v0/web/components` lists it.
    struct Info: Encodable {
        var moduleID = ""
        var localID: String
        var name: String
        var label: String
        var health: ComponentRegistry.Health
        var referencedBy: [String]
        var referencesTo: [String]
        var dataFlowEdgesTo: [String]
        var liveDebuggingEnabled = false
    }

    /// A component as Alloy's `/api/v0/web/components/{id}` gives it.
    struct Detail: Encodable {
        var moduleID = ""
        var localID: String
        var name: String
        var label: String
        var health: ComponentRegistry.Health
        var referencedBy: [String]
        var referencesTo: [String]
        var dataFlowEdgesTo: [String]
        var liveDebuggingEnabled = false
        var arguments: [AlloyStatement]
        var exports: [AlloyStatement]?
        var debugInfo: [AlloyStatement]?
    }

    /// What leaves one component, in the fields of Alloy's live-debugging graph data, read on
    /// request rather than streamed.
    struct Flow: Encodable {
        var componentID: String
        var type: ComponentRegistry.FlowType
        /// Targets: how many the component exports now. Samples: how many have left it since
        /// the agent started.
        var count: UInt64
        /// Per second over the window; null for targets and until a second reading exists.
        var rate: Double?
        var targetComponentIDs: [String]
        /// For what leaves the agent: the remote-write endpoint.
        var endpoint: String?
        var url: String?
    }

    struct Graph: Encodable {
        /// Seconds the rates are measured over.
        var window: Int
        var data: [Flow]
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/api/v0/web/components") { _, _ in WebUIController.json(list()) }
        router.get("/api/v0/web/components/:id") { _, context in
            guard let id = context.parameters.get("id"), let detail = detail(id) else {
                return WebUIController.json(WebUIController.Problem(error: "no such component"), status: .notFound)
            }
            return WebUIController.json(detail)
        }
        router.get("/api/v0/web/graph") { request, _ in
            let window = request.uri.queryParameters.get("window", as: Int.self) ?? 5
            guard (1...60).contains(window) else {
                return WebUIController.json(
                    WebUIController.Problem(error: "window must be an integer between 1 and 60"), status: .badRequest)
            }
            return WebUIController.json(graph(window: window))
        }
    }

    func list() -> [Info] {
        let (config, reports) = registry.reports()
        let edges = Edges(config)
        return reports.map { id, report in
            Info(
                localID: id.description, name: id.name, label: id.label, health: report.health,
                referencedBy: edges.referencedBy[id, default: []].map(\.description),
                referencesTo: edges.referencesTo(id).map(\.description),
                dataFlowEdgesTo: edges.dataFlowTo[id, default: []].map(\.description))
        }
    }

    func detail(_ localID: String) -> Detail? {
        let (config, reports) = registry.reports()
        guard let found = reports.first(where: { $0.0.description == localID }) else { return nil }
        let (id, report) = found
        let edges = Edges(config)
        return Detail(
            localID: id.description, name: id.name, label: id.label, health: report.health,
            referencedBy: edges.referencedBy[id, default: []].map(\.description),
            referencesTo: edges.referencesTo(id).map(\.description),
            dataFlowEdgesTo: edges.dataFlowTo[id, default: []].map(\.description),
            arguments: config.declarations[id]?.arguments ?? [], exports: report.exports, debugInfo: report.debugInfo)
    }

    func graph(window: Int, now: Double = Date().timeIntervalSince1970) -> Graph {
        let (config, reports) = registry.reports()
        let edges = Edges(config)
        var flows: [Flow] = []
        var counts: [String: UInt64] = [:]
        for (id, report) in reports {
            for outgoing in report.outgoing {
                let targets = outgoing.endpoint == nil ? edges.dataFlowTo[id, default: []].map(\.description) : []
                flows.append(
                    Flow(
                        componentID: id.description, type: outgoing.type, count: outgoing.count,
                        targetComponentIDs: targets, endpoint: outgoing.endpoint, url: outgoing.url))
                if outgoing.cumulative { counts[Self.key(flows.last!)] = outgoing.count }
            }
        }
        let rates = registry.rates(counts, window: Double(window), now: now)
        for index in flows.indices { flows[index].rate = rates[Self.key(flows[index])] }
        return Graph(window: window, data: flows)
    }

    private static func key(_ flow: Flow) -> String {
        flow.componentID + " " + (flow.endpoint ?? "")
    }

    /// The graph's edges, from the declarations: references both ways, and data flow (a
    /// component that uses another's `receiver` sends to it; one that uses its other exports
    /// takes from it).
    struct Edges {
        let config: AgentConfig
        var referencedBy: [ComponentID: [ComponentID]] = [:]
        var dataFlowTo: [ComponentID: [ComponentID]] = [:]

        init(_ config: AgentConfig) {
            self.config = config
            for id in config.evaluationOrder {
                guard let declaration = config.declarations[id] else { continue }
                for target in declaration.references { referencedBy[target, default: []].append(id) }
                for target in declaration.sendsTo { dataFlowTo[id, default: []].append(target) }
                for source in declaration.takesFrom { dataFlowTo[source, default: []].append(id) }
            }
        }

        func referencesTo(_ id: ComponentID) -> [ComponentID] {
            config.declarations[id]?.references ?? []
        }
    }
}
