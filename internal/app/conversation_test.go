package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/search"
)

// TestConversation_ShowsContentNotStorage: the conversation view gives a
// record's text and payload whole, however the archive keeps them (a
// long text and a large payload are blobs), and its files by name, type,
// size and digest, never where they are stored or the keys that open
// them, which would outlive the record's disposal.
func TestConversation_ShowsContentNotStorage(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	body := strings.Repeat("long statement ", 2000)
	raw := []byte(`{"text":"` + body + `"}`)
	file := []byte("%PDF-1.7 statement")
	ev := &onrecord.Event{Channel: "slack", Kind: onrecord.KindMessage, ProviderID: "1.1", Conversation: "C1",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U1"}, SentAt: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC),
		Body: body, Raw: raw, Attachments: []onrecord.Attachment{{Name: "statement.pdf", ContentType: "application/pdf", Data: file}}}
	res, err := a.Append(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	match := func(context.Context, search.Query) ([]uint64, error) { return []uint64{res.Seq}, nil }
	recs, err := Conversation(t.Context(), a, match, "C1", "slack", "reviewer")
	if err != nil || len(recs.Records) != 1 {
		t.Fatalf("conversation: %+v, %v", recs, err)
	}
	got := recs.Records[0].Event
	if got.Body != body || !bytes.Equal(got.Raw, raw) || got.BodyBlob != nil || got.RawBlob != nil {
		t.Errorf("text %d bytes, payload %d bytes, blobs %v %v; want %d and %d inline", len(got.Body), len(got.Raw), got.BodyBlob, got.RawBlob, len(body), len(raw))
	}
	if len(got.Attachments) != 1 || got.Attachments[0].SHA256 == "" || got.Attachments[0].Size != int64(len(file)) {
		t.Errorf("attachment shown as %+v", got.Attachments)
	}
	out, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{`"blob_key"`, `"blob"`, `"body_blob"`, `"raw_blob"`} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("the view carries %s", leak)
		}
	}
}
