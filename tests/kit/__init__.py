"""The test kit: media makers, a real S3-compatible server, shows made to measure.

Shared by the tests and the benchmarks (bench/), so that both make their own inputs the
same way and run the same real components."""
