package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestParse_ALaterRetryIsTheSameEvents parses every kind of delivery the
// five simulators produce twice, as first received and as a provider's
// retry a minute and a half later (with the retry headers Slack adds),
// and requires the same events: what a retry stores must be a duplicate,
// not a conflict. The one thing allowed to differ is an event dated by its
// receipt (the provider gave no time), and only if it carries the time of
// receipt exactly, by which the gateway leaves it out of the content
// (Event.SentAtIsReceipt). A connector that rounded it, or put the time
// of receipt or a retry header anywhere else, fails.
func TestParse_ALaterRetryIsTheSameEvents(t *testing.T) {
	f, srv, cfg := fleetConfig(t, fleet.Options{SignalStreamCount: -1})
	srv.Close()
	channels, err := buildChannels(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conns := map[string]connector.Connector{}
	for _, ch := range channels {
		conns[ch.Config.Name] = ch.Connector
	}
	first := time.Date(2026, 12, 4, 9, 30, 15, 123456789, time.UTC)
	retry := first.Add(90*time.Second + 250*time.Millisecond)
	parse := func(name string, method, raw string, header http.Header, body []byte, at time.Time) (string, error) {
		u, err := url.Parse(raw)
		if err != nil {
			return "", err
		}
		req := &connector.Request{Method: method, URL: u, PublicURL: raw, Header: header, Body: body, ReceivedAt: at, RemoteAddr: "127.0.0.1:40000"}
		evs, err := conns[name].Parse(req)
		if err != nil {
			return "", err
		}
		for i := range evs {
			if evs[i].SentAt.Equal(at) {
				evs[i].SentAt = time.Time{}
			}
		}
		b, err := json.Marshal(evs)
		return string(b), err
	}
	n := 0
	for name, ds := range f.Deliveries(cfg.PublicURL) {
		for _, d := range ds {
			if d.Kind == "verification" || d.Kind == "url_verification" {
				continue
			}
			a, errA := parse(name, d.Method, d.URL, d.Header.Clone(), d.Body, first)
			again := d.Header.Clone()
			if name == fleet.Slack {
				again.Set("X-Slack-Retry-Num", "1")
				again.Set("X-Slack-Retry-Reason", "http_timeout")
			}
			b, errB := parse(name, d.Method, d.URL, again, d.Body, retry)
			if errA != nil || errB != nil {
				t.Errorf("%s %s: %v / %v", name, d.Kind, errA, errB)
				continue
			}
			if a != b {
				t.Errorf("%s %s: a retry 90 s later parses to other events:\n first: %.600s\n retry: %.600s", name, d.Kind, a, b)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d deliveries compared", n)
	}
}
