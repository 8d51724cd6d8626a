import Events

/// A target ready to scrape: its key, the labels its series get, and its URL.
///
/// Built from a discovered label set as Prometheus does: `job`, `__scheme__`,
/// `__metrics_path__` and `__param_*` default from the job's settings; `instance`
/// defaults to `__address__`; labels starting with `__` are not attached to series.
public struct ScrapeTarget: Sendable, Hashable {
    /// `TargetKey` of the discovered labels (without `__meta_*`): the same on every member.
    public var key: UInt64
    /// The key the target's owner and scrape phase are computed from: `key`, or with
    /// `hash_labels` the key of just those labels, so that labels outside the list (volatile
    /// ones, or added by relabelling) move nothing. Targets sharing the listed labels share it.
    public var ownerKey: UInt64
    /// The labels `ownerKey` is the key of (the discovered labels, or the listed ones).
    public var ownerLabels: Labels
    /// The labels as discovered (after `discovery.relabel`).
    public var discovered: Labels
    /// The labels attached to every series of the target.
    public var labels: Labels
    public var url: String

    public init?(discovered: [String: String], settings: ScrapeSettings) {
        guard let address = discovered["__address__"], !address.isEmpty else { return nil }
        var all = discovered
        all["job"] = all["job"] ?? settings.jobName
        let scheme = all["__scheme__"] ?? settings.scheme
        let path = all["__metrics_path__"] ?? settings.metricsPath
        all["instance"] = all["instance"] ?? address
        var query: [String] = []
        for (name, values) in settings.params.sorted(by: { $0.key < $1.key }) {
            let value = all["__param_" + name] ?? values.first ?? ""
            query.append("\(percentEncode(name))=\(percentEncode(value))")
        }
        for (name, value) in all.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("__param_") && settings.params[String(name.dropFirst(8))] == nil {
            query.append("\(percentEncode(String(name.dropFirst(8))))=\(percentEncode(value))")
        }
        self.key = TargetKey.of(discovered)
        self.discovered = Labels(discovered)
        if settings.hashLabels.isEmpty {
            self.ownerKey = self.key
            self.ownerLabels = self.discovered
        } else {
            let wanted = Set(settings.hashLabels)
            self.ownerLabels = Labels(all.filter { wanted.contains($0.key) })
            self.ownerKey = TargetKey.of(self.ownerLabels, only: settings.hashLabels)
        }
        self.labels = Labels(all.filter { !$0.key.hasPrefix("__") })
        self.url =
            "\(scheme)://\(address)\(path.hasPrefix("/") ? path : "/" + path)"
            + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }
}

private func percentEncode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            out.append(Character(UnicodeScalar(byte)))
        default:
            let hex = String(byte, radix: 16, uppercase: true)
            out += "%" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return out
}
