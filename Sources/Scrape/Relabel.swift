import Events

/// Applies `rules` in order to a target's labels, with Prometheus's semantics.
///
/// Returns the relabelled labels, or nil when a `keep`, `drop`, `keepequal` or `dropequal`
/// rule drops the target or when no label is left (as Alloy's `discovery.relabel` drops it).
/// A label set to the empty string is removed, as in Prometheus.
public func relabel(_ labels: [String: String], rules: [RelabelRule]) -> [String: String]? {
    var labels = labels
    for rule in rules {
        guard rule.apply(to: &labels) else { return nil }
    }
    return labels.isEmpty ? nil : labels
}

/// `relabel(_:rules:)` for a series' labels (metric relabelling: `prometheus.relabel`,
/// `write_relabel_config`): the series' labels relabelled, or nil when the rules drop it.
public func relabel(_ labels: Labels, rules: [RelabelRule]) -> Labels? {
    let dictionary = Dictionary(labels.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    return relabel(dictionary, rules: rules).map(Labels.init)
}

/// An endpoint's `write_relabel_config` as a function of a series' labels, for the forwarder and
/// `agentd replay`; nil when there are no rules.
public func writeRelabelling(_ rules: [RelabelRule]) -> (@Sendable (Labels) -> Labels?)? {
    guard !rules.isEmpty else { return nil }
    return { labels in relabel(labels, rules: rules) }
}

extension RelabelRule {
    /// Applies the rule to `labels`; returns false if the target is to be dropped.
    public func apply(to labels: inout [String: String]) -> Bool {
        let value = joinedSourceValues(of: labels)
        switch action {
        case .drop:
            return !regex.matches(value)
        case .keep:
            return regex.matches(value)
        case .dropequal:
            return labels[targetLabel, default: ""] != value
        case .keepequal:
            return labels[targetLabel, default: ""] == value
        case .replace:
            replace(value, in: &labels)
        case .lowercase:
            labels.setOrRemove(targetLabel, value.lowercased())
        case .uppercase:
            labels.setOrRemove(targetLabel, value.uppercased())
        case .hashmod:
            let digest = RelabelMD5.digest(value.utf8)
            let tail = digest[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            labels[targetLabel] = String(tail % modulus)
        case .labelmap:
            for (name, labelValue) in labels.sorted(by: { $0.key < $1.key }) {
                if let match = regex.wholeMatch(name) {
                    labels.setOrRemove(match.expand(replacementTemplate), labelValue)
                }
            }
        case .labeldrop:
            for name in labels.keys where regex.matches(name) {
                labels[name] = nil
            }
        case .labelkeep:
            for name in labels.keys where !regex.matches(name) {
                labels[name] = nil
            }
        }
        return true
    }

    private func joinedSourceValues(of labels: [String: String]) -> String {
        switch sourceLabels.count {
        case 0: return ""
        case 1: return labels[sourceLabels[0], default: ""]
        default: return sourceLabels.map { labels[$0, default: ""] }.joined(separator: separator)
        }
    }

    private func replace(_ value: String, in labels: inout [String: String]) {
        // Prometheus's fast path: nothing to match against and nothing to expand.
        if value.isEmpty, regex == RelabelRegex.default, !targetTemplate.hasVariables,
            !replacementTemplate.hasVariables
        {
            labels.setOrRemove(targetLabel, replacement)
            return
        }
        // No match: nothing is replaced.
        guard let match = regex.wholeMatch(value) else { return }
        let target = match.expand(targetTemplate)
        guard Self.isValidLabelName(target) else { return }
        labels.setOrRemove(target, match.expand(replacementTemplate))
    }
}

extension Dictionary where Key == String, Value == String {
    /// Prometheus's `labels.Builder.Set`: an empty value removes the label.
    fileprivate mutating func setOrRemove(_ name: String, _ value: String) {
        self[name] = value.isEmpty ? nil : value
    }
}
