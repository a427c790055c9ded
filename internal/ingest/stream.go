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
// Channels added later (AddChannels) have theirs started then.
func (g *Gateway) RunStreams(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.streamCtx = ctx
	set := g.set.Load()
	for _, name := range set.order {
		g.startStream(ctx, set.byName[name])
	}
}

// startStream starts ch's event stream, if it has one, until ctx ends or
// the channel is removed. Called with g.mu held.
func (g *Gateway) startStream(ctx context.Context, ch *channel) {
	s, ok := ch.Connector.(connector.Streamer)
	if !ok || ch.Config.RPCURL == "" {
		return
	}
	sctx, stop := context.WithCancel(ctx)
	ch.stopStream = stop
	go g.stream(sctx, ch, s)
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
