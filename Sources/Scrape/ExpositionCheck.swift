/// Validates a whole exposition (as `agentd check-metrics` does): `nil` when valid, else the
/// first problem with its line and column.
public func checkMetrics(
    _ bytes: [UInt8], format: ExpositionFormat, limits: ExpositionLimits = .none
) -> ExpositionError? {
    var parser = ExpositionParser(format: format, limits: limits)
    do {
        try bytes.withUnsafeBytes { body in
            _ = try parser.parse(body) { _ in }
        }
        return nil
    } catch let error as ExpositionError {
        return error
    } catch {
        return ExpositionError(line: 0, column: 0, message: "\(error)")
    }
}
