package app

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestReloadChannels_RotatesCredentials rotates the WhatsApp channel's
// app secret while the server runs: deliveries signed with the old one are
// refused from then on, the change is on the record (what changed, never
// the value), rotating back restores them, and a change to a channel's
// settings other than credentials is refused and changes nothing.
func TestReloadChannels_RotatesCredentials(t *testing.T) {
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

	if r, err := h.app.ReloadChannels(t.Context(), original); err != nil || r.Changed() || h.app.Archive.Len() != before {
		t.Fatalf("reload without a change: %+v, %v, %d records added", r, err, h.app.Archive.Len()-before)
	}
	if _, err := h.app.ReloadChannels(t.Context(), withChannel(func(c *config.Channel) { c.PhoneNumberID = "999" })); err == nil ||
		!strings.Contains(err.Error(), "restart") {
		t.Fatalf("a changed phone_number_id was taken: %v", err)
	}
	if code, body := h.send(t, text); code != http.StatusOK {
		t.Fatalf("after a refused reload: HTTP %d %s", code, body)
	}

	r, err := h.app.ReloadChannels(t.Context(), withChannel(func(c *config.Channel) { c.AppSecret = rotated }))
	if err != nil || !slices.Equal(r.Credentials, []string{fleet.WhatsApp}) || r.Added != nil || r.Removed != nil {
		t.Fatalf("rotation: %+v, %v", r, err)
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

	if r, err := h.app.ReloadChannels(t.Context(), original); err != nil || len(r.Credentials) != 1 {
		t.Fatalf("rotating back: %+v, %v", r, err)
	}
	if code, body := h.send(t, text); code != http.StatusOK {
		t.Fatalf("signed with the app secret in force again: HTTP %d %s", code, body)
	}
}

// TestReloadChannels_AddsAndRemovesChannels takes the Telegram channel
// out of the configuration while the server runs, then puts it back: out,
// its webhooks are answered 404 and it is neither listed nor served; back,
// its deliveries are stored again. Each change is on
// the record before it is made, naming the channel and its type.
func TestReloadChannels_AddsAndRemovesChannels(t *testing.T) {
	h := newHarness(t, fleet.Options{SignalStreamCount: -1})
	text := h.delivery(t, fleet.Telegram, "text")
	original := h.app.Config
	without := original
	without.Channels = slices.DeleteFunc(slices.Clone(original.Channels), func(c config.Channel) bool { return c.Name == fleet.Telegram })
	if err := without.Validate(); err != nil {
		t.Fatal(err)
	}
	listed := func() bool {
		return slices.ContainsFunc(h.app.Gateway.Channels(), func(c ingest.ChannelHealth) bool { return c.Name == fleet.Telegram })
	}

	r, err := h.app.ReloadChannels(t.Context(), without)
	if err != nil || !slices.Equal(r.Removed, []string{fleet.Telegram}) || r.Added != nil || r.Credentials != nil {
		t.Fatalf("removal: %+v, %v", r, err)
	}
	before := h.app.Archive.Len()
	if code, _ := h.send(t, text); code != http.StatusNotFound || h.app.Archive.Len() != before {
		t.Fatalf("a delivery to the removed channel: HTTP %d, %d records; want 404 and none", code, h.app.Archive.Len()-before)
	}
	if listed() || h.app.Gateway.HasChannel(fleet.Telegram) {
		t.Fatal("the removed channel is still served")
	}

	r, err = h.app.ReloadChannels(t.Context(), original)
	if err != nil || !slices.Equal(r.Added, []string{fleet.Telegram}) || r.Removed != nil {
		t.Fatalf("adding it back: %+v, %v", r, err)
	}
	if code, body := h.send(t, text); code != http.StatusOK || !listed() {
		t.Fatalf("a delivery to the added channel: HTTP %d %s (listed %v)", code, body, listed())
	}
	var changes []string
	for _, ev := range h.events(t) {
		if ev.Subtype == "admin.channels" {
			changes = append(changes, ev.Body)
			if ev.Meta["removed:"+fleet.Telegram] != "telegram" && ev.Meta["added:"+fleet.Telegram] != "telegram" {
				t.Errorf("record of the change: %q %v", ev.Body, ev.Meta)
			}
		}
	}
	if want := []string{"channels removed: " + fleet.Telegram, "channels added: " + fleet.Telegram + " (telegram)"}; !slices.Equal(changes, want) {
		t.Fatalf("changes recorded %q, want %q", changes, want)
	}
}
