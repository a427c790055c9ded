package app

import (
	"context"

	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/meta"
)

// Custodians resolves custodian: names (and holds by custodian) through
// the directory: the person found by id, user name, email or name, and
// every business identity they held, for the time they held it. A number
// that passed from one employee to another belongs to each for their own
// span, so neither's search or hold reaches the other's conversations.
func Custodians(d *meta.Directory) index.CustodianResolver {
	return func(_ context.Context, name string) ([]index.CustodianSpan, error) {
		p, err := d.Custodian(name)
		if err != nil {
			return nil, err
		}
		var spans []index.CustodianSpan
		for _, h := range d.Holdings(p.ID) {
			spans = append(spans, index.CustodianSpan{Channel: h.Channel, ID: h.Address, From: h.From, To: h.To})
		}
		return spans, nil
	}
}

// custodians is the resolver of the running server's directory.
func (a *App) custodians() index.CustodianResolver {
	if a.Governance == nil || a.Governance.Directory == nil {
		return nil
	}
	return Custodians(a.Governance.Directory)
}
