import Foundation
import MoltCore
import Testing

/// Background work waits while a busy stretch runs and goes on when it ends.
@Test func waitingForFreeCoresLastsAsLongAsTheStretch() {
    BusyCores.waitUntilFree()  // nothing running: returns at once
    let inside = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
    let stretch = Thread {
        BusyCores.occupy {
            inside.signal()
            release.wait()
        }
    }
    stretch.start()
    inside.wait()
    let waited = Background(.dedicated()) { BusyCores.waitUntilFree() }
    Thread.sleep(forTimeInterval: 0.05)
    let finishedEarly = DispatchSemaphore(value: 0)
    _ = Background { try waited.wait(); finishedEarly.signal() }
    #expect(finishedEarly.wait(timeout: .now() + 0.1) == .timedOut, "the wait ended while the stretch ran")
    release.signal()
    #expect(finishedEarly.wait(timeout: .now() + 60) == .success, "the wait did not end with the stretch")
}
