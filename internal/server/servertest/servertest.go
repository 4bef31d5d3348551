// Package servertest holds helpers for tests that run a `fluoro server`.
package servertest

import "github.com/fluoro-dev/fluoro/internal/server"

// Config is the default server configuration with every listener (UDP,
// HTTP, OTLP/gRPC, OTLP/HTTP) on a free loopback port, so that tests never
// collide with each other or with a server running on the defaults. Callers
// still set Data.
func Config() server.Config {
	cfg := server.Default()
	cfg.UDP, cfg.HTTP = "127.0.0.1:0", "127.0.0.1:0"
	cfg.OTLPGRPC, cfg.OTLPHTTP = "127.0.0.1:0", "127.0.0.1:0"
	return cfg
}
