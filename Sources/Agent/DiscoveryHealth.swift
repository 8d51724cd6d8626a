import Config
import Foundation
import Hummingbird
import Synchronization

/// How each run-time discovery component fares: its last refresh, its targets, and its last
/// failure, for `/api/v0/discovery` and `/metrics`. A component whose refresh fails keeps its
/// last good targets; here it shows as unhealthy with the error until a refresh succeeds.
final class DiscoveryHealth: Sendable {
    struct Status: Codable, Sendable, Hashable, ResponseEncodable {
        /// `discovery.dns.peers`.
        var component: String
        var healthy = true
        /// The last refresh's failure, while it lasts.
        var error: String?
        /// Targets the component gives now (the last good set while failing).
        var targets = 0
        /// Unix seconds of the last refresh, good or bad.
        var lastRefresh: Double?
        /// Refreshes (lookups, fetches, file reads) and the failed ones among them.
        var refreshes = 0
        var failures = 0
    }

    private let statuses = Mutex<[String: Status]>([:])

    /// Registers the configuration's components (a reload forgets those it no longer has).
    func reset(components: [String]) {
        statuses.withLock { statuses in
            statuses = statuses.filter { components.contains($0.key) }
            for component in components where statuses[component] == nil {
                statuses[component] = Status(component: component)
            }
        }
    }

    /// Records one refresh round: `error` nil when it succeeded.
    func refreshed(_ component: String, error: String?, failures: Int = 1) {
        statuses.withLock { statuses in
            var status = statuses[component] ?? Status(component: component)
            status.refreshes += 1
            status.healthy = error == nil
            status.error = error
            if error != nil { status.failures += failures }
            status.lastRefresh = Date().timeIntervalSince1970
            statuses[component] = status
        }
    }

    func targets(_ component: String, count: Int) {
        statuses.withLock { statuses in
            statuses[component, default: Status(component: component)].targets = count
        }
    }

    var all: [Status] { statuses.withLock { $0.values.sorted { $0.component < $1.component } } }
}
