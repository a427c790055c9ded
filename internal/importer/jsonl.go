// Package importer brings events recorded elsewhere into the archive. The
// JSONL format is onrecord's canonical event, one JSON object per line; it
// is also what `export --format jsonl` will write, so an export re-imports
// into a clean instance with the same content.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
)

// MaxLine is the longest line accepted (attachments travel inline).
const MaxLine = 64 << 20

// line is the wire form of one event; it differs from onrecord.Event only
// where a field needs a clearer error than encoding/json gives.
type line struct {
	Channel      string           `json:"channel"`
	Kind         string           `json:"kind"`
	ProviderID   string           `json:"provider_id"`
	Conversation string           `json:"conversation"`
	Direction    string           `json:"direction"`
	Sender       onrecord.Party   `json:"sender"`
	Recipients   []onrecord.Party `json:"recipients"`
	SentAt       string           `json:"sent_at"`
	Body         string           `json:"body"`
	Target       string           `json:"target"`
	Emoji        string           `json:"emoji"`
	Status       string           `json:"status"`
	Attachments  []attachment     `json:"attachments"`
	Retention    string           `json:"retention_class"`
	Raw          json.RawMessage  `json:"raw"`
	// The rest of the canonical event, so that `export --format jsonl`
	// re-imports with nothing lost.
	SentAtIsReceipt  bool              `json:"sent_at_is_receipt"`
	Subtype          string            `json:"subtype"`
	ReplyTo          string            `json:"reply_to"`
	Thread           string            `json:"thread"`
	Forwarded        bool              `json:"forwarded"`
	Group            bool              `json:"group"`
	GroupName        string            `json:"group_name"`
	ExpiresInSeconds int               `json:"expires_in_seconds"`
	StatusError      string            `json:"status_error"`
	Meta             map[string]string `json:"meta"`
}

type attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	DataBase64  string `json:"data_base64"`
	Ref         string `json:"ref"`
	Error       string `json:"error"`
	// Size and SHA256, when given (exports write them), are checked
	// against the data.
	Size   *int64 `json:"size"`
	SHA256 string `json:"sha256"`
}

// LineError says which line and field of the input is wrong.
type LineError struct {
	Line  int
	Field string
	Err   error
}

func (e *LineError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("line %d: field %q: %v", e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ParseLine decodes one JSONL line into a validated event. n is the 1-based
// line number used in errors.
func ParseLine(n int, b []byte) (*onrecord.Event, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return nil, &LineError{Line: n, Field: te.Field, Err: fmt.Errorf("must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)}
		case errors.As(err, &se):
			return nil, &LineError{Line: n, Err: fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return nil, &LineError{Line: n, Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Err: errors.New("is not a known field")}
		}
		return nil, &LineError{Line: n, Err: err}
	}
	if dec.More() {
		return nil, &LineError{Line: n, Err: errors.New("more than one JSON value on the line")}
	}
	ev := &onrecord.Event{
		Channel: l.Channel, Kind: onrecord.EventKind(l.Kind), ProviderID: l.ProviderID, Conversation: l.Conversation,
		Direction: onrecord.Direction(l.Direction), Sender: l.Sender, Recipients: l.Recipients, Body: l.Body,
		Target: l.Target, Emoji: l.Emoji, Status: l.Status, RetentionClass: l.Retention,
		SentAtIsReceipt: l.SentAtIsReceipt, Subtype: l.Subtype, ReplyTo: l.ReplyTo, Thread: l.Thread,
		Forwarded: l.Forwarded, Group: l.Group, GroupName: l.GroupName, ExpiresInSeconds: l.ExpiresInSeconds,
		StatusError: l.StatusError, Meta: l.Meta,
	}
	if len(l.Raw) > 0 && string(l.Raw) != "null" {
		// raw is the provider's payload: a base64 string, or JSON kept as is.
		var s string
		if json.Unmarshal(l.Raw, &s) == nil {
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, &LineError{Line: n, Field: "raw", Err: errors.New("a string raw payload must be base64")}
			}
			ev.Raw = raw
		} else {
			ev.Raw = []byte(l.Raw)
		}
	}
	if l.SentAt == "" {
		return nil, &LineError{Line: n, Field: "sent_at", Err: errors.New("is required (RFC 3339, for example 2026-11-23T14:05:00Z)")}
	}
	t, err := time.Parse(time.RFC3339Nano, l.SentAt)
	if err != nil {
		return nil, &LineError{Line: n, Field: "sent_at", Err: fmt.Errorf("%q is not RFC 3339 (for example 2026-11-23T14:05:00Z)", l.SentAt)}
	}
	ev.SentAt = t
	for i, a := range l.Attachments {
		data, err := base64.StdEncoding.DecodeString(a.DataBase64)
		if err != nil {
			return nil, &LineError{Line: n, Field: fmt.Sprintf("attachments[%d].data_base64", i), Err: errors.New("is not standard base64")}
		}
		field := fmt.Sprintf("attachments[%d]", i)
		if a.Size != nil && *a.Size != int64(len(data)) {
			return nil, &LineError{Line: n, Field: field + ".size", Err: fmt.Errorf("is %d, the data has %d bytes", *a.Size, len(data))}
		}
		if a.SHA256 != "" {
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != strings.ToLower(a.SHA256) {
				return nil, &LineError{Line: n, Field: field + ".sha256", Err: errors.New("does not match the data")}
			}
		}
		ev.Attachments = append(ev.Attachments, onrecord.Attachment{Name: a.Name, ContentType: a.ContentType, Data: data, Ref: a.Ref, Error: a.Error})
	}
	if err := ev.Validate(); err != nil {
		var fe *onrecord.FieldError
		if errors.As(err, &fe) {
			return nil, &LineError{Line: n, Field: fe.Field, Err: errors.New(fe.Problem)}
		}
		return nil, &LineError{Line: n, Err: err}
	}
	return ev, nil
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "uint64", "float64":
		return "number"
	}
	return k
}

// Appender is what the importer writes to.
type Appender interface {
	Append(ctx context.Context, ev *onrecord.Event) (archive.Result, error)
}

// Summary is what an import did.
type Summary struct {
	Lines      int          `json:"lines"`
	Stored     int          `json:"stored"`
	Duplicates int          `json:"duplicates"`
	Conflicts  int          `json:"conflicts"`
	Invalid    int          `json:"invalid"`
	Errors     []*LineError `json:"-"`
	// Failed is set when an append failed (the journal refused a write);
	// the lines after it were not attempted.
	Failed error `json:"-"`
}

// Options tune Import.
type Options struct {
	// Workers append concurrently so that group commit can batch them.
	Workers int
	// Progress, if set, is called after each line is done.
	Progress func(done int)
}

// ImportJSONL reads events from r and appends every valid one. A bad line is
// reported and skipped; it never stops the valid lines. An append failure
// (disk full, failed fsync) stops the import: what was stored before it is
// durable, the rest is not attempted.
func ImportJSONL(ctx context.Context, r io.Reader, dst Appender, opts Options) Summary {
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		n  int
		ev *onrecord.Event
	}
	jobs := make(chan job, opts.Workers)
	var (
		mu  sync.Mutex
		sum Summary
		wg  sync.WaitGroup
	)
	done := func() {
		if opts.Progress != nil {
			opts.Progress(sum.Stored + sum.Duplicates + sum.Conflicts + sum.Invalid)
		}
	}
	for range opts.Workers {
		wg.Go(func() {
			for j := range jobs {
				res, err := dst.Append(ctx, j.ev)
				mu.Lock()
				switch {
				case err != nil:
					if sum.Failed == nil && ctx.Err() == nil {
						sum.Failed = fmt.Errorf("line %d: %w", j.n, err)
					}
					cancel()
				case res.Duplicate:
					sum.Duplicates++
				case res.Conflict:
					sum.Conflicts++
					sum.Stored++
				default:
					sum.Stored++
				}
				done()
				mu.Unlock()
			}
		})
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := ParseLine(n, b)
		mu.Lock()
		sum.Lines++
		if err != nil {
			sum.Invalid++
			sum.Errors = append(sum.Errors, err.(*LineError))
			done()
		}
		mu.Unlock()
		if err != nil {
			continue
		}
		select {
		case jobs <- job{n, ev}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := sc.Err(); err != nil {
		mu.Lock()
		sum.Invalid++
		sum.Errors = append(sum.Errors, &LineError{Line: n + 1, Err: fmt.Errorf("cannot read line: %v", err)})
		mu.Unlock()
	}
	close(jobs)
	wg.Wait()
	sort.Slice(sum.Errors, func(i, j int) bool { return sum.Errors[i].Line < sum.Errors[j].Line })
	return sum
}
