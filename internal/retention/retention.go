package retention

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/crypt"
)

const dayLayout = "2006-01-02"

// BucketName names the key bucket of a class on the UTC day of t (package
// crypt owns the spelling).
func BucketName(class string, t time.Time) string { return crypt.BucketName(class, t) }

// ParseBucket splits a bucket name into its class and UTC day.
func ParseBucket(name string) (string, time.Time, error) { return crypt.ParseBucket(name) }

// Errors a caller branches on.
var (
	ErrRetained = errors.New("retention period has not passed")
	ErrHeld     = errors.New("a legal hold covers it")
)

// Policy knows the retention classes.
type Policy struct {
	Classes map[string]config.Retention
}

// ExpiresAt returns when every record of the bucket has outlived its class's
// retention: the end of the bucket's UTC day plus the period. ok is false for
// permanent classes and unknown classes (unknown is never disposable).
func (p Policy) ExpiresAt(bucket string) (t time.Time, ok bool, err error) {
	class, day, err := ParseBucket(bucket)
	if err != nil {
		return time.Time{}, false, err
	}
	r, known := p.Classes[class]
	if !known {
		return time.Time{}, false, fmt.Errorf("bucket %q: retention class %q is not configured; records of an unknown class are kept", bucket, class)
	}
	t, ok = r.ExpiresAfter(day.AddDate(0, 0, 1))
	return t, ok, nil
}

// Hold is a legal hold in its minimal form: it covers every bucket of the
// named classes (all classes when empty) whose day falls in [From, To]
// (open-ended when zero).
type Hold struct {
	ID      string    `json:"id"`
	Action  string    `json:"action"` // "create" or "release"
	Name    string    `json:"name,omitempty"`
	Classes []string  `json:"classes,omitempty"`
	From    string    `json:"from,omitempty"` // YYYY-MM-DD
	To      string    `json:"to,omitempty"`   // YYYY-MM-DD
	Reason  string    `json:"reason,omitempty"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
	// A scoped hold covers the records a search finds rather than whole
	// classes: Query in the search language, Custodians (participant
	// identities on any channel) and Conversations, all of which must
	// match, with From/To then bounding the day a record was sent. It
	// holds every bucket holding such a record, including records that
	// arrive after it was placed. Only the index can tell which buckets
	// those are, so the archive refuses disposal while a scoped hold is
	// active unless it is given a resolver (see Archive.SetHoldScope).
	Query         string   `json:"query,omitempty"`
	Custodians    []string `json:"custodians,omitempty"`
	Conversations []string `json:"conversations,omitempty"`
}

// Scoped reports whether the hold covers records by search rather than
// buckets by class and day.
func (h *Hold) Scoped() bool {
	return h.Query != "" || len(h.Custodians) > 0 || len(h.Conversations) > 0
}

// Validate checks a hold change before it is recorded.
func (h *Hold) Validate() error {
	if h.ID == "" {
		return errors.New("hold: id is required")
	}
	if h.Action != "create" && h.Action != "release" {
		return fmt.Errorf("hold %s: action %q must be create or release", h.ID, h.Action)
	}
	for _, d := range []string{h.From, h.To} {
		if d != "" {
			if _, err := time.Parse(dayLayout, d); err != nil {
				return fmt.Errorf("hold %s: date %q must be YYYY-MM-DD", h.ID, d)
			}
		}
	}
	if h.From != "" && h.To != "" && h.To < h.From {
		return fmt.Errorf("hold %s: to %s is before from %s", h.ID, h.To, h.From)
	}
	return nil
}

func (h *Hold) covers(class, day string) bool {
	if len(h.Classes) > 0 {
		found := false
		for _, c := range h.Classes {
			found = found || c == class
		}
		if !found {
			return false
		}
	}
	return (h.From == "" || day >= h.From) && (h.To == "" || day <= h.To)
}

// Holds is the registry of active holds, rebuilt from hold records in the
// journal and updated as new ones are appended.
type Holds struct {
	mu     sync.RWMutex
	active map[string]Hold
}

// NewHolds returns an empty registry.
func NewHolds() *Holds { return &Holds{active: map[string]Hold{}} }

// Apply adds or releases a hold. Releasing an unknown hold is an error so
// that a typo does not read as a release.
func (r *Holds) Apply(h Hold) error {
	if err := h.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch h.Action {
	case "create":
		if _, ok := r.active[h.ID]; ok {
			return fmt.Errorf("hold %s is already active", h.ID)
		}
		r.active[h.ID] = h
	case "release":
		if _, ok := r.active[h.ID]; !ok {
			return fmt.Errorf("hold %s is not active", h.ID)
		}
		delete(r.active, h.ID)
	}
	return nil
}

// Check returns whether a change can be applied, without applying it.
func (r *Holds) Check(h Hold) error {
	if err := h.Validate(); err != nil {
		return err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, active := r.active[h.ID]
	if h.Action == "create" && active {
		return fmt.Errorf("hold %s is already active", h.ID)
	}
	if h.Action == "release" && !active {
		return fmt.Errorf("hold %s is not active", h.ID)
	}
	return nil
}

// Covering returns the ids of active holds that cover the bucket.
func (r *Holds) Covering(bucket string) ([]string, error) {
	class, day, err := ParseBucket(bucket)
	if err != nil {
		return nil, err
	}
	d := day.Format(dayLayout)
	r.mu.RLock()
	defer r.mu.RUnlock()
	var ids []string
	for id, h := range r.active {
		if !h.Scoped() && h.covers(class, d) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Scoped lists the active scoped holds, by id.
func (r *Holds) Scoped() []Hold {
	var out []Hold
	for _, h := range r.Active() {
		if h.Scoped() {
			out = append(out, h)
		}
	}
	return out
}

// Active lists the active holds, by id.
func (r *Holds) Active() []Hold {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Hold, 0, len(r.active))
	for _, h := range r.active {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckDisposal returns nil only if the bucket may be disposed of at now:
// its retention has passed and no hold covers it.
//
// scoped maps buckets to the scoped holds covering them, as resolved
// through the index; it must be non-nil whenever a scoped hold is active,
// or nothing is disposable.
func CheckDisposal(p Policy, holds *Holds, bucket string, now time.Time, scoped map[string][]string) error {
	exp, ok, err := p.ExpiresAt(bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %s: %w: its class is kept permanently", bucket, ErrRetained)
	}
	if now.Before(exp) {
		return fmt.Errorf("bucket %s: %w: it expires at %s", bucket, ErrRetained, exp.Format(time.RFC3339))
	}
	ids, err := holds.Covering(bucket)
	if err != nil {
		return err
	}
	if sh := holds.Scoped(); len(sh) > 0 && scoped == nil {
		return fmt.Errorf("bucket %s: %w: hold %s covers records by search, which needs the index to resolve (use onrecord retention run)", bucket, ErrHeld, sh[0].ID)
	}
	ids = append(ids, scoped[bucket]...)
	if len(ids) > 0 {
		return fmt.Errorf("bucket %s: %w: %v", bucket, ErrHeld, ids)
	}
	return nil
}

// Disposal is the public content of a disposal record: facts about what was
// destroyed, never content.
type Disposal struct {
	// Seq is the disposal record's own position, known once it is
	// appended (not part of the record).
	Seq       uint64    `json:"-"`
	Bucket    string    `json:"bucket"`
	Records   uint64    `json:"records"`
	FirstSeq  uint64    `json:"first_seq"`
	LastSeq   uint64    `json:"last_seq"`
	ExpiredAt time.Time `json:"expired_at"`
	Reason    string    `json:"reason,omitempty"`
	By        string    `json:"by,omitempty"`
	At        time.Time `json:"at"`
}

// MarshalDisposal encodes a disposal for the record's public field.
func MarshalDisposal(d Disposal) ([]byte, error) { return json.Marshal(d) }

// UnmarshalDisposal decodes a disposal record's public field.
func UnmarshalDisposal(b []byte) (Disposal, error) {
	var d Disposal
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("disposal record: %w", err)
	}
	if _, _, err := ParseBucket(d.Bucket); err != nil {
		return d, fmt.Errorf("disposal record: %w", err)
	}
	return d, nil
}
