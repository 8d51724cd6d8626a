import Scrape

/// `discovery.relabel "LABEL" { targets = …  rule { … } … }`.
public struct RelabelComponent: Sendable, Hashable {
    public var id: ComponentID
    public var targets: TargetsSource
    public var rules: [RelabelRule]

    public init(id: ComponentID, targets: TargetsSource, rules: [RelabelRule]) {
        self.id = id
        self.targets = targets
        self.rules = rules
    }

    /// The `output` export: relabelled now when the input is static, described otherwise.
    public var output: TargetsSource {
        if case .static(let input) = targets {
            return .static(input.compactMap { relabel($0, rules: rules) })
        }
        return .relabel(id, rules: rules, input: targets)
    }

    static let schema = BlockSchema(attributes: ["targets"], blocks: ["rule"], required: ["targets"])

    static let ruleSchema = BlockSchema(
        attributes: ["source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"])

    init(id: ComponentID, decoder: BlockDecoder) throws(Diagnostic) {
        var rules: [RelabelRule] = []
        for block in decoder.blocks("rule") {
            rules.append(try Self.rule(block, evaluator: decoder.evaluator))
        }
        self.init(id: id, targets: try decoder.targets("targets") ?? .static([]), rules: rules)
    }

    /// Decodes a `rule` block (also usable by other components that take rules).
    static func rule(_ block: Block, evaluator: Evaluator, title: String = "rule") throws(Diagnostic) -> RelabelRule {
        let rule = try BlockDecoder(block, title: title, schema: ruleSchema, evaluator: evaluator)
        let actionName = try rule.string("action", default: "replace")
        guard let action = RelabelAction(rawValue: actionName.lowercased()) else {
            throw rule.error(
                "unknown relabel action \"\(actionName)\"; expected one of: \(RelabelAction.allCases.map(\.rawValue).joined(separator: ", "))",
                at: try rule.value("action")?.position ?? block.position)
        }
        let pattern = try rule.string("regex", default: RelabelRegex.default.pattern)
        let regex: RelabelRegex
        do {
            regex = try RelabelRegex(pattern)
        } catch {
            throw rule.error(error.message, at: try rule.value("regex")?.position ?? block.position)
        }
        let sourceLabels = try rule.stringList("source_labels") ?? []
        let separator = try rule.string("separator", default: ";")
        let modulus = UInt64(try rule.int("modulus", default: 0))
        let targetLabel = try rule.string("target_label", default: "")
        let replacement = try rule.string("replacement", default: "$1")
        do {
            return try RelabelRule(
                sourceLabels: sourceLabels, separator: separator, regex: regex, modulus: modulus,
                targetLabel: targetLabel, replacement: replacement, action: action)
        } catch {
            throw rule.error(error.message, at: block.position)
        }
    }
}
