#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams text as it is generated.
func fflushStdout() { fflush(nil) }
