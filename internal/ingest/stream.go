package ingest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

// RunStreams pulls events from every channel whose connector can stream
// (signal-cli's JSON-RPC event stream), through the same pipeline as
// webhooks, until ctx ends. A broken stream is reconnected with backoff.
func (g *Gateway) RunStreams(ctx context.Context) {
	for _, name := range g.order {
		ch := g.channels[name]
		s, ok := ch.Connector.(connector.Streamer)
		if !ok || ch.Config.RPCURL == "" {
			continue
		}
		go g.stream(ctx, ch, s)
	}
}

func (g *Gateway) stream(ctx context.Context, ch *channel, s connector.Streamer) {
	name := ch.Config.Name
	// The stream client has no overall timeout (the stream is long-lived)
	// and talks only to the configured daemon.
	client := &http.Client{Transport: ch.Client.Transport}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.Stream(ctx, client, func(req *connector.Request) error {
			if req.ReceivedAt.IsZero() {
				req.ReceivedAt = g.opts.Now().UTC()
			}
			if status, msg := g.Deliver(ctx, name, req); status != http.StatusOK {
				return fmt.Errorf("delivery not stored: %d %s", status, msg)
			}
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		g.m.streamErrors.WithLabelValues(name).Inc()
		g.log.Warn("event stream ended; reconnecting", "channel", name, "err", err, "in", backoff)
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
