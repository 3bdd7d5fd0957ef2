import CoreTypes
import Testing

/// The conversions every timeout and timing goes through (`poll`, `WAIT`, Dispatch, reports).
@Suite struct DurationUnitsTests {
    @Test func wholeUnitsRoundDown() {
        let d = Duration.seconds(2) + .nanoseconds(999_999_999)
        #expect(d.wholeMilliseconds == 2_999)
        #expect(d.wholeNanoseconds == 2_999_999_999)
        #expect(Duration.nanoseconds(999_999).wholeMilliseconds == 0)
    }

    @Test func fractionalUnitsKeepTheRemainder() {
        let d = Duration.milliseconds(1_250) + .microseconds(500)
        #expect(abs(d.seconds - 1.2505) < 1e-12)
        #expect(abs(d.milliseconds - 1_250.5) < 1e-9)
    }
}
