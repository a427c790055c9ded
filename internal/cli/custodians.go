package cli

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/index"
)

// archiveCustodians resolves custodian: names through the directory as it
// stands now, rebuilt from its records on first use (a search without
// custodian: never pays for it). Names in lenient are hold custodians: a
// hold's custodian may be a participant id rather than a person (holds
// made before the directory, or of an outside party), so such a name
// that is not in the directory resolves to nothing — the hold still
// covers it as a participant (see holdQuery). Any other unknown name, and
// any ambiguous one, is an error.
func archiveCustodians(a *archive.Archive, lenient ...string) index.CustodianResolver {
	var (
		once    sync.Once
		resolve index.CustodianResolver
		err     error
	)
	return func(ctx context.Context, name string) ([]index.CustodianSpan, error) {
		once.Do(func() {
			h := newGovernanceHistory()
			if err = a.ReplaySystem(h.apply); err == nil {
				resolve = app.Custodians(h.dir)
			}
		})
		if err != nil {
			return nil, err
		}
		spans, rerr := resolve(ctx, name)
		if rerr != nil && onrecord.ErrorCode(rerr) == onrecord.ENOTFOUND && slices.Contains(lenient, name) {
			return nil, nil
		}
		return spans, rerr
	}
}

// checkCustodians says, for each custodian of a new hold or matter, whom
// it holds: a person (by name, with how many identities) or, when the
// directory does not know the name, a participant id. A name that fits
// several people is refused: a hold must not guess.
func (m *Main) checkCustodians(ctx context.Context, a *archive.Archive, names []string) error {
	resolve := archiveCustodians(a)
	for _, n := range names {
		spans, err := resolve(ctx, n)
		switch {
		case onrecord.ErrorCode(err) == onrecord.ENOTFOUND:
			fmt.Fprintf(m.Stderr, "custodian %q is not a person in the directory: held as a participant id\n", n)
		case err != nil:
			return fmt.Errorf("custodian %q: %w", n, err)
		default:
			fmt.Fprintf(m.Stderr, "custodian %q: a person in the directory, %d business identities held\n", n, len(spans))
		}
	}
	return nil
}
