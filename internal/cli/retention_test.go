package cli

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/retention"
	"github.com/onrecord/onrecord/verify"
)

// TestRetention_ScopedHoldsWinAndCertificateChecksOut runs plan and run
// over a moving clock: a hold by conversation keeps its buckets, including
// one that only exists because a record arrived after the hold; a hold
// placed between plan and run wins; disposal leaves verify passing and a
// certificate that checks out offline and fails when changed.
func TestRetention_ScopedHoldsWinAndCertificateChecksOut(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.RetentionClasses = append(cfg.RetentionClasses, config.RetentionClass{Name: "short", Duration: "30d"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	day1 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	clock.Store(day1.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetHoldScope(indexHoldScope(a, dir))
	n := 0
	add := func(conv, body string) {
		t.Helper()
		n++
		ev := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, ProviderID: "m" + string(rune('a'+n)), Conversation: conv,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1555" + conv}, SentAt: now(), Body: body, RetentionClass: "short"}
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	add("c1", "about the merger")
	add("c2", "lunch")
	if err := a.CreateHold(t.Context(), retention.Hold{ID: "LIT-1", Conversations: []string{"c1"}, Reason: "litigation"}); err != nil {
		t.Fatal(err)
	}
	day2 := day1.AddDate(0, 0, 1)
	clock.Store(day2.UnixNano())
	add("c3", "weather")
	day3 := day2.AddDate(0, 0, 1)
	clock.Store(day3.UnixNano())
	add("c1", "a new message in the held conversation") // arrives after the hold
	add("c4", "unrelated")

	clock.Store(day1.AddDate(0, 0, 45).UnixNano())
	state := func(lines []planLine, bucket string) string {
		for _, l := range lines {
			if l.Bucket == bucket {
				return l.State
			}
		}
		return "missing"
	}
	b1, b2, b3 := "short/2026-01-05", "short/2026-01-06", "short/2026-01-07"
	lines, disposable := planRetention(a, now())
	if !strings.Contains(state(lines, b1), "LIT-1") || !strings.Contains(state(lines, b3), "LIT-1") || state(lines, b2) != "disposable" {
		t.Fatalf("plan: %+v", lines)
	}
	// A hold placed after the plan, before the run, wins.
	if err := a.CreateHold(t.Context(), retention.Hold{ID: "FOIA-7", Query: "weather", Reason: "request"}); err != nil {
		t.Fatal(err)
	}
	cert, err := runDisposal(t.Context(), a, lines, disposable, "schedule", "tester", now())
	if err != nil {
		t.Fatal(err)
	}
	if cert.Totals.Buckets != 0 || !strings.Contains(cert.Kept[len(cert.Kept)-1].Why, "FOIA-7") {
		t.Fatalf("late hold did not win: %+v", cert)
	}
	// Released, the bucket goes; the held ones stay.
	if err := a.ReleaseHold(t.Context(), "FOIA-7", "closed", "tester"); err != nil {
		t.Fatal(err)
	}
	lines, disposable = planRetention(a, now())
	cert, err = runDisposal(t.Context(), a, lines, disposable, "schedule", "tester", now())
	if err != nil {
		t.Fatal(err)
	}
	if cert.Totals.Buckets != 1 || cert.Disposed[0].Bucket != b2 || cert.Totals.Records != 1 {
		t.Fatalf("certificate: %+v", cert)
	}
	// Records: 0 c1, 1 c2, 2 the hold, 3 c3 (day 2), 4 c1, 5 c4 (day 3).
	if _, err := a.Get(3); err == nil || !strings.Contains(err.Error(), "dispos") {
		t.Fatalf("the record of the disposed bucket: %v", err)
	}
	for _, seq := range []uint64{0, 1, 4, 5} {
		if _, err := a.Get(seq); err != nil {
			t.Fatalf("held record %d: %v", seq, err)
		}
	}
	// The certificate checks out offline, and not once changed.
	b, _ := json.Marshal(cert)
	if _, err := verify.CheckCertificate(b, ""); err != nil {
		t.Fatalf("certificate: %v", err)
	}
	cert.Disposed[0].Records = 5
	cert.Totals.Records = 5
	b, _ = json.Marshal(cert)
	if _, err := verify.CheckCertificate(b, ""); err == nil {
		t.Fatal("a changed certificate checked out")
	}
	a.Close()
	rep, err := archive.VerifyDir(t.Context(), archive.VerifyOptions{Config: cfg})
	if err != nil || !rep.OK {
		t.Fatalf("verify after disposal: %v %+v", err, rep)
	}
}
