// The operator-testing example uses Swift Testing's #expect.
import Testing
import StrataStreams
