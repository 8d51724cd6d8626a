import Foundation

/// `value` as the JSON text the event tables hold (keys sorted, so a label set is stored one way).
func projectionJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension SQLiteRow {
    /// Column `index`, JSON text, decoded as `type`; `column` names it in the error when it is not.
    func json<Value: Decodable>(_ type: Value.Type, _ index: Int32, of column: String) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(self.text(index).utf8))
        } catch {
            throw ProjectionStoreError(
                path: self.path, message: "\(column) of row \(self.integer(0)) is not JSON of \(type): \(error)")
        }
    }

    /// Column `index`, text, as the case of `type` it names; `column` names it in the error when it
    /// names none.
    func enumeration<Value: RawRepresentable<String>>(_ type: Value.Type, _ index: Int32, of column: String) throws
        -> Value
    {
        let text = self.text(index)
        guard let value = Value(rawValue: text) else {
            throw ProjectionStoreError(
                path: self.path, message: "\(column) of row \(self.integer(0)) is not a \(type): \"\(text)\"")
        }
        return value
    }
}
