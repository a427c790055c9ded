package app

import (
	"os"
	"runtime/debug"
)

// TuneGC lets the heap grow to five times the live data between
// collections (GOGC=400) unless the operator set GOGC. The server's live
// heap is small (indexes of what is stored) while every delivery allocates
// its parse and its sealing, so at the default 100 the collector runs
// often on CPUs the deliveries need; memory is the cheaper resource on the
// machines this runs on. GOMEMLIMIT, when set, still caps it.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
