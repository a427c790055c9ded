package archive

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/retention"
)

// TestArchive_DiscloseIsGetEnvelopeAndRecordKey: for every kind of record
// (events, a hold record, disposed records, seqs past the end, repeats, any
// order) Disclose gives what Get, Envelope and RecordKey give one by one,
// errors included.
func TestArchive_DiscloseIsGetEnvelopeAndRecordKey(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}
	a := mustOpen(t, testConfig(t, t.TempDir()), clk.Now)
	defer a.Close()
	for i := range 300 {
		ev := event(i, "body")
		if i%7 == 0 {
			ev.RetentionClass = "short"
		}
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CreateHold(t.Context(), retention.Hold{ID: "h", Classes: []string{"default"}, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(40 * 24 * time.Hour)
	if _, err := a.Dispose(t.Context(), retention.BucketName("short", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)), "expired", "tester"); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for s := range a.Len() + 2 {
		seqs = append(seqs, s)
	}
	seqs = append(seqs, 5, 5, 0)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(seqs), func(i, j int) { seqs[i], seqs[j] = seqs[j], seqs[i] })

	got, err := a.Disclose(t.Context(), seqs)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for i, seq := range seqs {
		d := got[i]
		ev, gerr := a.Get(seq)
		if gerr != nil {
			kinds["withheld"]++
			if d.Err == nil || d.Err.Error() != gerr.Error() || d.Event != nil || d.RecordKey != nil {
				t.Fatalf("record %d: Disclose err %v, Get err %v", seq, d.Err, gerr)
			}
			continue
		}
		kinds["event"]++
		if d.Err != nil {
			t.Fatalf("record %d: Disclose err %v, Get gave the event", seq, d.Err)
		}
		want, _ := json.Marshal(ev)
		have, _ := json.Marshal(d.Event)
		env, _ := a.Envelope(seq)
		key, _ := a.RecordKey(seq)
		if !bytes.Equal(have, want) || !bytes.Equal(d.Envelope, env) || !bytes.Equal(d.RecordKey, key) {
			t.Fatalf("record %d: Disclose differs from Get/Envelope/RecordKey", seq)
		}
	}
	if kinds["event"] < 250 || kinds["withheld"] < 40 {
		t.Fatalf("the test did not cover both: %v", kinds)
	}
}
