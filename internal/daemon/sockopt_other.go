//go:build !linux

package daemon

import "errors"

func setRcvbufForce(uintptr, int) error { return errors.New("SO_RCVBUFFORCE is Linux only") }
