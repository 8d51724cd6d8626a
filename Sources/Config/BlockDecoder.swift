import Scrape

/// Reads a block's attributes with their expected types and defaults, rejecting what the
/// block's schema does not know with an error naming it.
struct BlockDecoder {
    let block: Block
    /// How messages name the block, e.g. `prometheus.scrape "clustered"` or `endpoint`.
    let title: String
    let evaluator: Evaluator
    private var attributes: [String: Attribute] = [:]

    init(_ block: Block, title: String, schema: BlockSchema, evaluator: Evaluator) throws(Diagnostic) {
        self.block = block
        self.title = title
        self.evaluator = evaluator
        for statement in block.body {
            switch statement {
            case .attribute(let attribute):
                if let previous = attributes[attribute.name] {
                    throw evaluator.error(
                        "attribute \"\(attribute.name)\" is already set in \(title) at \(previous.position)",
                        at: attribute.position)
                }
                guard schema.attributes.contains(attribute.name) else {
                    if schema.alloyOnlyAttributes.contains(attribute.name) {
                        throw evaluator.error(
                            "attribute \"\(attribute.name)\" of \(title) is an Alloy attribute that agentd does not support yet; supported: \(schema.attributes.sorted().joined(separator: ", "))",
                            at: attribute.position)
                    }
                    throw evaluator.error(
                        "unknown attribute \"\(attribute.name)\" in \(title); expected one of: \(schema.attributes.sorted().joined(separator: ", "))",
                        at: attribute.position)
                }
                attributes[attribute.name] = attribute
            case .block(let nested):
                guard schema.blocks.contains(nested.name) else {
                    let supported = schema.blocks.isEmpty ? "none" : schema.blocks.sorted().joined(separator: ", ")
                    if schema.alloyOnlyBlocks.contains(nested.name) {
                        throw evaluator.error(
                            "block \"\(nested.name)\" of \(title) is an Alloy block that agentd does not support yet; supported blocks: \(supported)",
                            at: nested.position)
                    }
                    throw evaluator.error(
                        "unknown block \"\(nested.name)\" in \(title); supported blocks: \(supported)",
                        at: nested.position)
                }
                if let label = nested.label, let position = nested.labelPosition {
                    throw evaluator.error(
                        "block \"\(nested.name)\" does not take a label, found \"\(label)\"", at: position)
                }
            }
        }
        for name in schema.required where attributes[name] == nil {
            throw evaluator.error("missing required attribute \"\(name)\" in \(title)", at: block.position)
        }
    }

    func error(_ message: String, at position: SourcePosition) -> Diagnostic {
        evaluator.error(message, at: position)
    }

    /// The nested blocks called `name`, in order.
    func blocks(_ name: String) -> [Block] {
        block.blocks.filter { $0.name == name }
    }

    /// At most one nested block called `name`.
    func optionalBlock(_ name: String) throws(Diagnostic) -> Block? {
        let found = blocks(name)
        if found.count > 1 {
            throw error("block \"\(name)\" may appear only once in \(title)", at: found[1].position)
        }
        return found.first
    }

    /// The attribute's value and position, if set.
    func value(_ name: String) throws(Diagnostic) -> (value: Value, position: SourcePosition)? {
        guard let attribute = attributes[name] else { return nil }
        return (try evaluator.evaluate(attribute.value), attribute.value.position)
    }

    private func typeError(_ name: String, expected: String, found: Value, at position: SourcePosition) -> Diagnostic {
        error("attribute \"\(name)\" of \(title) must be \(expected), not a \(found.typeName)", at: position)
    }

    func string(_ name: String, default fallback: String) throws(Diagnostic) -> String {
        try optionalString(name) ?? fallback
    }

    func optionalString(_ name: String) throws(Diagnostic) -> String? {
        guard let (value, position) = try value(name) else { return nil }
        guard case .string(let text) = value else {
            throw typeError(name, expected: "a string", found: value, at: position)
        }
        return text
    }

    func bool(_ name: String, default fallback: Bool) throws(Diagnostic) -> Bool {
        guard let (value, position) = try value(name) else { return fallback }
        guard case .bool(let bool) = value else {
            throw typeError(name, expected: "a bool", found: value, at: position)
        }
        return bool
    }

    func int(_ name: String, default fallback: Int, minimum: Int = 0) throws(Diagnostic) -> Int {
        guard let (value, position) = try value(name) else { return fallback }
        guard case .int(let int) = value else {
            throw typeError(name, expected: "an integer", found: value, at: position)
        }
        guard int >= minimum else {
            throw error("attribute \"\(name)\" of \(title) must be at least \(minimum), got \(int)", at: position)
        }
        return int
    }

    func duration(_ name: String, default fallback: Duration) throws(Diagnostic) -> Duration {
        guard let (value, position) = try value(name) else { return fallback }
        guard case .string(let text) = value else {
            throw typeError(name, expected: "a duration string such as \"15s\"", found: value, at: position)
        }
        guard let duration = AlloyDuration.parse(text) else {
            throw error(
                "attribute \"\(name)\" of \(title): invalid duration \"\(text)\" (expected e.g. \"15s\", \"1h30m\", \"500ms\")",
                at: position)
        }
        return duration
    }

    /// A byte size: an integer, or a string such as `"10MiB"`.
    func bytes(_ name: String, default fallback: Int64) throws(Diagnostic) -> Int64 {
        guard let (value, position) = try value(name) else { return fallback }
        switch value {
        case .int(let int) where int >= 0:
            return Int64(int)
        case .int(let int):
            throw error("attribute \"\(name)\" of \(title) must not be negative, got \(int)", at: position)
        case .string(let text):
            guard let size = AlloyDuration.parseBytes(text) else {
                throw error(
                    "attribute \"\(name)\" of \(title): invalid size \"\(text)\" (expected e.g. \"10MiB\")",
                    at: position)
            }
            return size
        default:
            throw typeError(name, expected: "a size such as \"10MiB\"", found: value, at: position)
        }
    }

    func stringList(_ name: String) throws(Diagnostic) -> [String]? {
        guard let (value, position) = try value(name) else { return nil }
        guard case .array(let items) = value else {
            throw typeError(name, expected: "a list of strings", found: value, at: position)
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                throw typeError(name, expected: "a list of strings", found: item, at: position)
            }
            strings.append(text)
        }
        return strings
    }

    func stringMap(_ name: String) throws(Diagnostic) -> [String: String]? {
        guard let (value, position) = try value(name) else { return nil }
        guard let map = Self.stringMap(value) else {
            throw typeError(name, expected: "an object of strings", found: value, at: position)
        }
        return map
    }

    static func stringMap(_ value: Value) -> [String: String]? {
        guard case .object(let fields) = value else { return nil }
        var map: [String: String] = [:]
        for (key, field) in fields {
            guard case .string(let text) = field else { return nil }
            map[key] = text
        }
        return map
    }

    /// A target list: static objects of strings, or dynamic targets from another component.
    func targets(_ name: String) throws(Diagnostic) -> TargetsSource? {
        guard let (value, position) = try value(name) else { return nil }
        switch value {
        case .capsule(.targets(let source)):
            return source
        case .array(let items):
            var targets: [[String: String]] = []
            for (index, item) in items.enumerated() {
                guard let target = Self.stringMap(item) else {
                    throw error(
                        "attribute \"\(name)\" of \(title): target \(index) must be an object of strings, not a \(item.typeName)",
                        at: position)
                }
                targets.append(target)
            }
            return .static(targets)
        default:
            throw typeError(name, expected: "a list of targets", found: value, at: position)
        }
    }

    func receivers(_ name: String) throws(Diagnostic) -> [ComponentID]? {
        guard let (value, position) = try value(name) else { return nil }
        guard case .array(let items) = value else {
            throw typeError(name, expected: "a list of receivers", found: value, at: position)
        }
        var receivers: [ComponentID] = []
        for item in items {
            guard case .capsule(.receiver(let id)) = item else {
                throw typeError(name, expected: "a list of receivers", found: item, at: position)
            }
            receivers.append(id)
        }
        return receivers
    }
}
