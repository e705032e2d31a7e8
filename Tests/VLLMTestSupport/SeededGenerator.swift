import VLLMCompute

/// The engine's SplitMix64, so randomized tests are reproducible, under the name the test
/// modules use.
public typealias SeededGenerator = SplitMix64
