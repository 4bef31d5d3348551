//go:build unix

package insight

import (
	"syscall"
	"time"
)

// cpuTime is the process's user plus system CPU time: on a shared machine
// it shows what an operation costs when wall time is inflated by waiting
// for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
