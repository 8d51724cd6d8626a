import Scrape

/// Where a component's targets come from, as far as configuration can tell.
///
/// Static lists are resolved while the configuration is evaluated (including relabelling of
/// static lists); targets found at run time are described so the daemon can wire the
/// pipeline: `discovery.file` (or `.dns`, `.http`, `.docker`) → `discovery.relabel` →
/// `prometheus.scrape`.
public indirect enum TargetsSource: Sendable, Hashable {
    /// Targets known now.
    case `static`([[String: String]])
    /// The targets of the `discovery.file` component with this ID.
    case file(ComponentID)
    /// The targets of another run-time discovery component (`discovery.dns`, `discovery.http`,
    /// `discovery.docker`).
    case discovered(ComponentID)
    /// The `input` targets passed through the rules of the `discovery.relabel` component `id`.
    case relabel(ComponentID, rules: [RelabelRule], input: TargetsSource)

    /// Resolves the source given the current targets of each dynamic discovery component.
    public func resolve(discovered: (ComponentID) -> [[String: String]]) -> [[String: String]] {
        switch self {
        case .static(let targets):
            return targets
        case .file(let id), .discovered(let id):
            return discovered(id)
        case .relabel(_, let rules, let input):
            return input.resolve(discovered: discovered).compactMap { Scrape.relabel($0, rules: rules) }
        }
    }
}
