package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/sim"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestWhatsAppHistoryThroughHTTP sends a coexistence number's chat history
// (a chunk, the media that follows it, a refusal) through the public
// listener: one record per message with its own bytes, the whole chunk
// kept once, the media fetched and linked to its message, a retry stored
// once and no conflicts.
func TestWhatsAppHistoryThroughHTTP(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	byKind := map[string]sim.Delivery{}
	for _, k := range []string{"history_declined", "history", "history_media", "history", "history_media"} {
		d := h.delivery(t, fleet.WhatsApp, k)
		byKind[k] = d
		if code, body := h.send(t, d); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %q", k, code, body)
		}
	}
	chunk := byKind["history"].Body
	var chunks, messages, media, errs int
	var mediaOf string
	for _, ev := range h.events(t) {
		if ev.Channel != fleet.WhatsApp {
			continue
		}
		switch {
		case ev.Kind == onrecord.KindSystem && ev.Subtype == "history":
			chunks++
			if !bytes.Equal(ev.Raw, chunk) && !bytes.Equal(ev.Raw, byKind["history_media"].Body) && !bytes.Equal(ev.Raw, byKind["history_declined"].Body) {
				t.Errorf("chunk record %s does not keep its whole delivery", ev.ProviderID)
			}
		case ev.Meta["history"] == "true" && ev.Subtype == "history_media":
			media++
			mediaOf = ev.Target
			if len(ev.Attachments) != 1 || ev.Attachments[0].Error != "" || ev.Attachments[0].Blob == "" {
				t.Errorf("history media not fetched and stored: %+v", ev.Attachments)
			}
		case ev.Meta["history"] == "true":
			messages++
			var item struct{ ID string }
			if !bytes.Contains(chunk, ev.Raw) || json.Unmarshal(ev.Raw, &item) != nil || item.ID != ev.ProviderID {
				t.Errorf("%s %s: raw is not the message's own bytes: %.100q", ev.Kind, ev.ProviderID, ev.Raw)
			}
		case ev.Subtype == "error" && ev.Meta["error_code"] == "2593109":
			errs++
		}
	}
	if chunks != 3 || messages != 4 || media != 1 || errs != 1 {
		t.Errorf("stored %d chunks, %d messages, %d media, %d refusals; want 3, 4, 1, 1", chunks, messages, media, errs)
	}
	var image *onrecord.Event
	for _, ev := range h.events(t) {
		if ev.ProviderID == mediaOf && ev.Kind == onrecord.KindMessage {
			image = ev
		}
	}
	if image == nil || image.Subtype != "image" {
		t.Errorf("the history media targets %q, which is not the stored image message", mediaOf)
	}
	for _, c := range h.app.Gateway.Channels() {
		if c.Name != fleet.WhatsApp {
			continue
		}
		if c.Conflicts != 0 {
			t.Errorf("%d conflicts: the media follow-up or the retry was taken for a different copy", c.Conflicts)
		}
		if c.CaptureLagSeconds > 3600 {
			t.Errorf("capture lag %.0f s: months-old history counted as late capture", c.CaptureLagSeconds)
		}
	}
}
