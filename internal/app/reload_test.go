package app

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestReloadChannels_RotatesCredentialsOnly rotates the WhatsApp channel's
// app secret while the server runs: deliveries signed with the old one are
// refused from then on, the change is on the record (what changed, never
// the value), rotating back restores them, and a change to anything but
// credentials is refused and changes nothing.
func TestReloadChannels_RotatesCredentialsOnly(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	text := h.delivery(t, fleet.WhatsApp, "text")
	withChannel := func(f func(*config.Channel)) config.Config {
		cfg := h.app.Config
		cfg.Channels = slices.Clone(cfg.Channels)
		for i := range cfg.Channels {
			if cfg.Channels[i].Name == fleet.WhatsApp {
				f(&cfg.Channels[i])
			}
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	original := h.app.Config
	const rotated = "7b2f0c91d4e85a36f1c0be29d7a4c5e8"
	before := h.app.Archive.Len()

	if names, err := h.app.ReloadChannels(t.Context(), original); err != nil || names != nil || h.app.Archive.Len() != before {
		t.Fatalf("reload without a change: %v, %v, %d records added", names, err, h.app.Archive.Len()-before)
	}
	if _, err := h.app.ReloadChannels(t.Context(), withChannel(func(c *config.Channel) { c.PhoneNumberID = "999" })); err == nil ||
		!strings.Contains(err.Error(), "restart") {
		t.Fatalf("a changed phone_number_id was taken: %v", err)
	}
	if code, body := h.send(t, text); code != http.StatusOK {
		t.Fatalf("after a refused reload: HTTP %d %s", code, body)
	}

	names, err := h.app.ReloadChannels(t.Context(), withChannel(func(c *config.Channel) { c.AppSecret = rotated }))
	if err != nil || !slices.Equal(names, []string{fleet.WhatsApp}) {
		t.Fatalf("rotation: %v, %v", names, err)
	}
	if code, _ := h.send(t, text); code != http.StatusUnauthorized {
		t.Fatalf("signed with the old app secret after the rotation: HTTP %d, want 401", code)
	}
	var found bool
	for _, ev := range h.events(t) {
		if ev.Subtype == "admin.channel_credentials" {
			found = true
			if ev.Meta["channel:"+fleet.WhatsApp] != "app_secret" || strings.Contains(ev.Body+strings.Join(slices.Collect(maps.Values(ev.Meta)), " "), rotated) {
				t.Errorf("record of the change: %q %v", ev.Body, ev.Meta)
			}
		}
	}
	if !found {
		t.Fatal("the rotation was not recorded")
	}

	if names, err := h.app.ReloadChannels(t.Context(), original); err != nil || len(names) != 1 {
		t.Fatalf("rotating back: %v, %v", names, err)
	}
	if code, body := h.send(t, text); code != http.StatusOK {
		t.Fatalf("signed with the app secret in force again: HTTP %d %s", code, body)
	}
}
