//go:build !unix

package analytics

import "time"

func cpuTime() time.Duration { return 0 }
