// Package enginecmp holds no production code: its benchmarks measure how
// candidate embedded storage engines (pebble v2, badger v4) handle Fluoro's
// trace workload, so that the engine behind internal/store is chosen by
// figures. The method, the figures and the choice are in
// docs/engine-comparison.md.
//
// Run it with
//
//	go test -run xxx -bench . -benchtime 1x ./internal/store/enginecmp/
//
// and scale the data set with -enginecmp.spans (default 1,500,000), given
// after the package path.
//
// The key layout under test is the one internal/store uses:
//
//	span:    0x01 | trace id (16 bytes: 4 bytes big-endian epoch second, 12 random) | span id (8 bytes, big-endian)
//	         → 1-byte header | span document (JSON, as received)
//	summary: 0x02 | trace id → summary (~170 bytes of JSON)
//
// Trace ids lead with their start second, so both key spaces sort by time:
// fetching a trace is a scan of one 17-byte prefix, listing summaries is a
// range scan, and retention deletes one key range below a cutoff.
package enginecmp
