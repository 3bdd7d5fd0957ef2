import Testing
@testable import OpenAIServer

@Suite struct StopSequencesTests {
    /// Feeds `pieces` and returns what a client would see and whether a stop string ended it.
    func stream(_ pieces: [String], stops: [String]) -> (String, Bool) {
        var s = StopSequences(stops)
        var out = ""
        for p in pieces {
            let (text, stopped) = s.feed(p)
            out += text
            if stopped { return (out, true) }
        }
        return (out + s.finish(), false)
    }

    @Test("the answer ends before the first stop string, even when it is split across pieces")
    func cutsAcrossPieces() {
        #expect(stream(["Hello wor", "ld. END", " more"], stops: ["END"]) == ("Hello world. ", true))
        #expect(stream(["ab", "cE", "N", "Dxyz"], stops: ["END"]) == ("abc", true))
        #expect(stream(["one two"], stops: ["two", "one"]) == ("", true))
        #expect(stream(["x\n\ny"], stops: ["\n\n"]) == ("x", true))
    }

    @Test("text that could begin a stop string is held back until decided, then released")
    func holdsBackOnlyWhatCouldStartAStop() {
        var s = StopSequences(["END"])
        #expect(s.feed("abcE") == ("abc", false))
        #expect(s.feed("N") == ("", false))
        #expect(s.feed("X") == ("ENX", false))
        #expect(s.feed("E") == ("", false))
        #expect(s.finish() == "E")
    }

    @Test("without stop strings every piece passes at once")
    func noStops() {
        var s = StopSequences([])
        #expect(s.feed("E") == ("E", false))
        #expect(stream(["a", "b"], stops: []) == ("ab", false))
    }
}
