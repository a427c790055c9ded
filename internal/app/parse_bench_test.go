package app

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// BenchmarkParseWorkload authenticates and parses the benchmark workload's
// deliveries with each channel's connector: the connector's share of a
// webhook's cost, without HTTP, media or storage. 100,000 deliveries (20,000
// per channel), so that, as in the gateway, most bodies are not in cache.
func BenchmarkParseWorkload(b *testing.B) {
	f, err := fleet.Start(fleet.Options{SignalStreamCount: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const public = "http://127.0.0.1:8080"
	chans, err := buildChannels(config.Config{PublicURL: public, Channels: f.Channels(public)})
	if err != nil {
		b.Fatal(err)
	}
	for _, ch := range chans {
		var reqs []*connector.Request
		for _, d := range f.Workload(public, 1, 100000) {
			u, _ := url.Parse(d.URL)
			if u.Path != "/hooks/"+ch.Config.Name {
				continue
			}
			reqs = append(reqs, &connector.Request{Method: d.Method, URL: u, PublicURL: d.URL, Header: http.Header(d.Header),
				Body: d.Body, ReceivedAt: time.Now().UTC(), RemoteAddr: "127.0.0.1:1"})
		}
		b.Run(ch.Config.Name, func(b *testing.B) {
			b.ReportAllocs()
			var bytes int
			for i := 0; b.Loop(); i++ {
				req := reqs[i%len(reqs)]
				bytes += len(req.Body)
				if err := ch.Connector.Authenticate(req); err != nil {
					b.Fatal(err)
				}
				if _, err := ch.Connector.Parse(req); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(bytes / b.N))
		})
	}
}
