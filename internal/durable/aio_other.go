//go:build !linux || !(amd64 || arm64)

package durable

import (
	"errors"
	"os"
)

// aioSync is only available on Linux; syncs block as fdatasync does.
type aioSync struct{}

func newAIOSync() *aioSync { return nil }

var errAIOUnsupported = errors.New("aio fdatasync not supported")

func (*aioSync) fdatasync(*os.File) error { return errAIOUnsupported }

func (*aioSync) close() error { return nil }

func (*aioSync) poke() {}
