package redact

import "github.com/onrecord/onrecord/internal/export"

// Hook adapts Apply to export.Options.Redact: it redacts the items, writes
// the redaction log beside the production and reports which records
// changed, so that their keys stay out of the proof bundle.
func Hook(opts Options) func(dir string, items []export.Item) ([]export.Item, map[uint64]bool, []export.File, error) {
	return func(dir string, items []export.Item) ([]export.Item, map[uint64]bool, []export.File, error) {
		out, log, err := Apply(items, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		changed := make(map[uint64]bool, len(log))
		for _, e := range log {
			changed[e.Seq] = true
		}
		files, err := WriteLog(dir, log)
		if err != nil {
			return nil, nil, nil, err
		}
		return out, changed, files, nil
	}
}

// Requested reports whether opts asks for any redaction.
func (o Options) Requested() bool { return len(o.Rules) > 0 || len(o.Spans) > 0 }
