import HTTPSecurity

/// A declared component as the web UI shows it: its evaluated arguments (secrets redacted) and
/// the components it refers to, from its block. Made for every component, whatever its kind, as
/// the configuration is evaluated: a new component needs nothing here.
public struct ComponentDeclaration: Sendable, Hashable {
    public var id: ComponentID
    /// The block's attributes, evaluated, and its inner blocks, in source order; secrets read `(secret)`.
    public var arguments: [AlloyStatement]
    /// The components its expressions refer to, in order of first use.
    public var references: [ComponentID]
    /// The components it sends data to: those whose `receiver` it uses (`forward_to`).
    public var sendsTo: [ComponentID]
    /// The components it takes data from: those whose other exports (targets, outputs) it uses.
    public var takesFrom: [ComponentID]

    /// Attributes whose values are credentials, in any block: shown as `(secret)`, as Alloy
    /// shows its `secret` values.
    public static let secretAttributes: Set<String> = [
        "password", "bearer_token", "credentials", "key_pem", "client_secret",
    ]
    /// Attributes whose object values are maps of credentials (Alloy's `map(secret)`): each value
    /// is shown as `(secret)`.
    public static let secretMaps: Set<String> = ["headers"]

    public init(
        id: ComponentID, arguments: [AlloyStatement], references: [ComponentID] = [], sendsTo: [ComponentID] = [],
        takesFrom: [ComponentID] = []
    ) {
        self.id = id
        self.arguments = arguments
        self.references = references
        self.sendsTo = sendsTo
        self.takesFrom = takesFrom
    }

    /// The declaration of `block`, evaluated after every component in `declared` (those it may refer to).
    init(id: ComponentID, block: Block, evaluator: Evaluator, declared: Set<ComponentID>) {
        self.init(id: id, arguments: Self.body(block.body, evaluator: evaluator))
        for (path, _) in ComponentGraph.references(in: block.body) {
            guard let (target, length) = Self.component(prefixOf: path, in: declared) else { continue }
            if !references.contains(target) { references.append(target) }
            if path.count > length, path[length] == "receiver" {
                if !sendsTo.contains(target) { sendsTo.append(target) }
            } else if !takesFrom.contains(target) {
                takesFrom.append(target)
            }
        }
    }

    /// The declared component a reference path starts with, and how many path elements name it.
    private static func component(prefixOf path: [String], in declared: Set<ComponentID>) -> (ComponentID, Int)? {
        guard path.count >= 2 else { return nil }
        for length in stride(from: path.count, through: 2, by: -1) {
            let id = ComponentID(name: path[0..<(length - 1)].joined(separator: "."), label: path[length - 1])
            if declared.contains(id) { return (id, length) }
        }
        return nil
    }

    private static func body(_ statements: [Statement], evaluator: Evaluator) -> [AlloyStatement] {
        statements.map { statement in
            switch statement {
            case .attribute(let attribute):
                let value = (try? evaluator.evaluate(attribute.value)) ?? .null
                return .attribute(name: attribute.name, value: redacted(attribute.name, AlloyValue(value)))
            case .block(let block):
                return .block(name: block.name, label: block.label, body: body(block.body, evaluator: evaluator))
            }
        }
    }

    private static func redacted(_ name: String, _ value: AlloyValue) -> AlloyValue {
        if secretAttributes.contains(name) { return .secret }
        if secretMaps.contains(name), case .object(let fields) = value {
            return .object(fields.map { AlloyValue.Field(key: $0.key, value: .secret) })
        }
        return value
    }
}

/// One statement of a component's body in the JSON shape of Alloy's UI API:
/// `{"type":"attr","name":…,"value":…}` or `{"type":"block","name":…,"label":…,"body":[…]}`.
public enum AlloyStatement: Sendable, Hashable, Encodable {
    case attribute(name: String, value: AlloyValue)
    case block(name: String, label: String?, body: [AlloyStatement])

    private enum Keys: String, CodingKey { case type, name, label, value, body }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .attribute(let name, let value):
            try container.encode("attr", forKey: .type)
            try container.encode(name, forKey: .name)
            try container.encode(value, forKey: .value)
        case .block(let name, let label, let body):
            try container.encode("block", forKey: .type)
            try container.encode(name, forKey: .name)
            try container.encodeIfPresent(label, forKey: .label)
            try container.encode(body, forKey: .body)
        }
    }
}

/// A value in the JSON shape of Alloy's UI API: `{"type":"string","value":"…"}`, objects as
/// `{"type":"object","value":[{"key":…,"value":…}]}`, a secret as the capsule `(secret)`.
public indirect enum AlloyValue: Sendable, Hashable, Encodable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case array([AlloyValue])
    case object([Field])
    case function(String)
    case capsule(String)

    public struct Field: Sendable, Hashable, Encodable {
        public var key: String
        public var value: AlloyValue

        public init(key: String, value: AlloyValue) {
            self.key = key
            self.value = value
        }
    }

    /// A credential, as Alloy shows it.
    public static let secret = AlloyValue.capsule(Secret("").description)

    /// A list of target label sets (an export such as `targets` or `output`).
    public static func targets(_ targets: [[String: String]]) -> AlloyValue {
        .array(
            targets.map { .object($0.sorted { $0.key < $1.key }.map { Field(key: $0.key, value: .string($0.value)) }) })
    }

    init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .bool(let bool): self = .bool(bool)
        case .int(let int): self = .int(int)
        case .float(let float): self = float.isFinite ? .float(float) : .string("\(float)")
        case .string(let string): self = .string(string)
        case .array(let items): self = .array(items.map(AlloyValue.init))
        case .object(let fields):
            self = .object(fields.sorted { $0.key < $1.key }.map { Field(key: $0.key, value: AlloyValue($0.value)) })
        case .function(let function): self = .function(function.rawValue)
        case .capsule(let capsule):
            // By the export it came from; `if case` rather than `switch`, so new kinds of capsule need no line here.
            if case .receiver(let id) = capsule {
                self = .capsule("\(id).receiver")
            } else if case .targets(.file(let id)) = capsule {
                self = .capsule("\(id).targets")
            } else if case .targets(.relabel(let id, _, _)) = capsule {
                self = .capsule("\(id).output")
            } else {
                self = .capsule(value.typeName)
            }
        }
    }

    private enum Keys: String, CodingKey { case type, value }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .null:
            try container.encode("null", forKey: .type)
        case .bool(let bool):
            try container.encode("bool", forKey: .type)
            try container.encode(bool, forKey: .value)
        case .int(let int):
            try container.encode("number", forKey: .type)
            try container.encode(int, forKey: .value)
        case .float(let float):
            try container.encode("number", forKey: .type)
            try container.encode(float, forKey: .value)
        case .string(let string):
            try container.encode("string", forKey: .type)
            try container.encode(string, forKey: .value)
        case .array(let items):
            try container.encode("array", forKey: .type)
            try container.encode(items, forKey: .value)
        case .object(let fields):
            try container.encode("object", forKey: .type)
            try container.encode(fields, forKey: .value)
        case .function(let name):
            try container.encode("function", forKey: .type)
            try container.encode(name, forKey: .value)
        case .capsule(let text):
            try container.encode("capsule", forKey: .type)
            try container.encode(text, forKey: .value)
        }
    }
}
