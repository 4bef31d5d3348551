//go:build !unix

package daemon

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK; without flock, two daemons on one spool are not
// detected on this platform.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	return f, nil
}
