import Primitives
import Testing

@Suite struct DurationTextTests {
    @Test(arguments: [
        (Duration.zero, "0s"), (.milliseconds(500), "500ms"), (.seconds(15), "15s"), (.seconds(60), "1m"),
        (.seconds(90), "1m30s"), (.seconds(5400), "1h30m"), (.milliseconds(1_001), "1s1ms"),
        (.seconds(86_400 * 8), "1w1d"), (.seconds(86_400 * 366), "1y1d"),
    ])
    func durationsAreWrittenAsPrometheusWritesThem(duration: Duration, text: String) {
        #expect(duration.prometheusText == text)
    }
}
