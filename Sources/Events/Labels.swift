/// A label: name and value.
public struct Label: Hashable, Sendable, Comparable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public static func < (lhs: Label, rhs: Label) -> Bool {
        lhs.name != rhs.name ? lhs.name < rhs.name : lhs.value < rhs.value
    }
}

/// A set of labels, kept sorted by name, names unique. The identity of a series
/// or of a target.
public struct Labels: Hashable, Sendable, Codable, RandomAccessCollection, CustomStringConvertible {
    public private(set) var labels: [Label]

    /// The most labels one series may have: the WAL's reader refuses more, so nothing that
    /// appends a series may accept more (one limit, checked on both sides).
    public static let maximumCount = 1 << 16

    public init() { labels = [] }

    /// Sorts `labels`; for a repeated name the last one wins.
    public init(_ labels: [Label]) {
        var sorted = labels.enumerated().sorted { a, b in
            a.element.name != b.element.name ? a.element.name < b.element.name : a.offset < b.offset
        }.map(\.element)
        var index = sorted.count - 1
        while index > 0 {
            if sorted[index - 1].name == sorted[index].name { sorted.remove(at: index - 1) }
            index -= 1
        }
        self.labels = sorted
    }

    public init(_ dictionary: [String: String]) {
        self.labels = dictionary.map { Label($0.key, $0.value) }.sorted()
    }

    /// Labels that are already sorted by name with unique names (e.g. just decoded).
    public init(sorted labels: [Label]) {
        self.labels = labels
    }

    public var startIndex: Int { labels.startIndex }
    public var endIndex: Int { labels.endIndex }
    public subscript(position: Int) -> Label { labels[position] }

    public subscript(name: String) -> String? {
        labels.first { $0.name == name }?.value
    }

    public var dictionary: [String: String] {
        Dictionary(labels.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The metric name (`__name__`), or the empty string.
    public var metricName: String { self["__name__"] ?? "" }

    /// `name{a="b", …}` as PromQL prints a series.
    public var description: String {
        let rest = labels.filter { $0.name != "__name__" }
        let inner = rest.map { "\($0.name)=\"\(Self.escape($0.value))\"" }.joined(separator: ", ")
        let name = metricName
        return rest.isEmpty && !name.isEmpty ? name : "\(name){\(inner)}"
    }

    /// A label value as the Prometheus text format writes it: `\\`, `\"` and `\n` escaped.
    public static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
