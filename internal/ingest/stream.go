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
	pullStream(ctx, s, ch.Client, func(req *connector.Request) error {
		if req.ReceivedAt.IsZero() {
			req.ReceivedAt = g.opts.Now().UTC()
		}
		if status, msg := g.Deliver(ctx, name, req); status != http.StatusOK {
			return fmt.Errorf("delivery not stored: %d %s", status, msg)
		}
		return nil
	}, func(err error, backoff time.Duration) {
		g.m.streamErrors.WithLabelValues(name).Inc()
		g.log.Warn("event stream ended; reconnecting", "channel", name, "err", err, "in", backoff)
	})
}

// pullStream runs s with deliver until ctx ends, reconnecting with backoff
// (100 ms doubling to 30 s, back to 100 ms after a stream that lasted a
// minute) and telling ended each time the stream ends. The stream client
// has no overall timeout (the stream is long-lived) and talks only to the
// configured daemon, through media's transport.
func pullStream(ctx context.Context, s connector.Streamer, media *http.Client, deliver func(*connector.Request) error, ended func(error, time.Duration)) {
	client := &http.Client{Transport: media.Transport}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.Stream(ctx, client, deliver)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		ended(err, backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
