package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/retention"
)

// TestFRA_LateCaptureIsAViolation tracks the messages sent from the
// business identities of people not on official accounts (active or not),
// and only those: captured within 20 days they are on time, captured later
// (an imported phone history) they are late, and late comes first. The
// report's run is recorded with counts and nothing else.
func TestFRA_LateCaptureIsAViolation(t *testing.T) {
	cfg := governanceTestConfig(t)
	provisionPeople(t, cfg, "user_name,display_name,official,active,identities\n"+
		"ana,Ana,false,true,wa:+15550001;sms:+15550001\n"+
		"bob,Bob,true,true,wa:+15550002\n"+
		"cy,Cy,false,false,wa:+15550003\n")
	var clock governanceTestClock
	t0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clock.set(t0.Add(time.Hour)) // every record below is captured at t0+1h
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	add := func(name, channel, from string, kind onrecord.EventKind, sent time.Time) {
		t.Helper()
		ev := &onrecord.Event{Channel: channel, Kind: kind, ProviderID: name, Conversation: "c", Direction: onrecord.Outbound,
			Sender: onrecord.Party{ID: from}, Recipients: []onrecord.Party{{ID: "+15559999"}}, SentAt: sent, Body: "text of " + name}
		if kind == onrecord.KindReaction {
			ev.Target, ev.Emoji, ev.Body = "ana-now", "👍", ""
		}
		res, err := a.Append(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = res.ID
	}
	add("ana-now", "wa", "+15550001", onrecord.KindMessage, t0)                                    // copied after an hour
	add("ana-edge", "wa", "+15550001", onrecord.KindMessage, t0.Add(time.Hour).AddDate(0, 0, -20)) // copied at the deadline
	add("ana-import", "sms", "+15550001", onrecord.KindMessage, t0.AddDate(0, 0, -30))             // copied 30 days later
	add("cy-import", "wa", "+15550003", onrecord.KindMessage, t0.AddDate(0, 0, -25))               // inactive, still tracked
	add("bob-import", "wa", "+15550002", onrecord.KindMessage, t0.AddDate(0, 0, -30))              // official account
	add("ana-other-channel", "tg", "+15550001", onrecord.KindMessage, t0.AddDate(0, 0, -30))       // not her identity there
	add("ana-reaction", "wa", "+15550001", onrecord.KindReaction, t0.AddDate(0, 0, -30))           // creates no record
	ext := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, ProviderID: "client", Conversation: "c", Direction: onrecord.Inbound,
		Sender: onrecord.Party{ID: "+15559999"}, Recipients: []onrecord.Party{{ID: "+15550001"}}, SentAt: t0.AddDate(0, 0, -30), Body: "hi"}
	if _, err := a.Append(t.Context(), ext); err != nil {
		t.Fatal(err)
	}

	now := t0.Add(2 * time.Hour)
	rep, err := assessFRA(t.Context(), a, now, 3*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, person, status string }{
		{"ana-import", "ana", retention.StatusLate},
		{"cy-import", "cy", retention.StatusLate},
		{"ana-edge", "ana", retention.StatusOnTime},
		{"ana-now", "ana", retention.StatusOnTime},
	}
	if rep.People != 2 || rep.Messages != len(want) || rep.Violations() != 2 {
		t.Fatalf("report: %+v", rep)
	}
	for i, w := range want {
		got := rep.Assessments[i]
		if got.RecordID != ids[w.name] || got.Person != w.person || got.Status != w.status || !got.CopiedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("%d: %s %s %s, want %s %s %s", i, got.RecordID, got.Person, got.Status, ids[w.name], w.person, w.status)
		}
	}
	a.Close()

	m, out, errOut := testMain()
	code := m.records(t.Context(), []string{"fra", "--data-dir", cfg.DataDir, "--now", now.Format(time.RFC3339), "--json"})
	if code != ExitFailure {
		t.Fatalf("exit %d with violations, want %d: %s", code, ExitFailure, errOut)
	}
	var got fraReport
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Counts[retention.StatusLate] != 2 || got.Counts[retention.StatusOnTime] != 2 || len(got.Assessments) != 4 || got.Seq == 0 {
		t.Fatalf("json report: %+v", got)
	}

	m, out, _ = testMain()
	m.records(t.Context(), []string{"fra", "--data-dir", cfg.DataDir, "--now", now.Format(time.RFC3339)})
	text := out.String()
	if !strings.Contains(text, "LATE") || !strings.Contains(text, ids["ana-import"]) || strings.Contains(text, ids["ana-now"]) {
		t.Errorf("text report lists violations only:\n%s", text)
	}
	m, _, _ = testMain()
	if code := m.records(t.Context(), []string{"fra", "--data-dir", cfg.DataDir, "--now", "yesterday"}); code != ExitUsage {
		t.Errorf("bad --now: exit %d", code)
	}

	a, err = archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	reports := systemRecords(t, a, "records.fra_report")
	if len(reports) != 2 {
		t.Fatalf("%d report records, want 2", len(reports))
	}
	for _, ev := range reports {
		if ev.Meta[retention.StatusLate] != "2" || ev.Meta[retention.StatusOnTime] != "2" || ev.Meta["people"] != "2" {
			t.Errorf("report record: %+v", ev.Meta)
		}
		all := ev.Body + string(ev.Raw)
		for _, secret := range []string{ids["ana-import"], ids["ana-now"], "+1555", "\"person\""} {
			if strings.Contains(all, secret) {
				t.Errorf("report record carries %q: %s", secret, all)
			}
		}
	}
}
