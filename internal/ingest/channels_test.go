package ingest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

// streamingConnector is testConnector with an event stream that delivers
// one signed message, then holds until its context ends.
type streamingConnector struct {
	*testConnector
	started, stopped chan struct{}
}

func (c *streamingConnector) Stream(ctx context.Context, _ *http.Client, deliver func(*connector.Request) error) error {
	close(c.started)
	err := deliver(&connector.Request{Method: "POST", Header: http.Header{"X-Sig": {c.sign(`{"id":"streamed","text":"hi"}`)}},
		Body: []byte(`{"id":"streamed","text":"hi"}`)})
	<-ctx.Done()
	close(c.stopped)
	if err != nil {
		return err
	}
	return ctx.Err()
}

func waitFor(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10s", what)
	}
}

// TestGateway_ChannelsAddedAndRemovedWhileServing adds a streaming channel
// after RunStreams: its webhooks are served and its stream runs (and
// stores what it delivers); removed, its webhooks are answered 404 and its
// stream ends. A name served twice, or not at all, is refused and changes
// nothing.
func TestGateway_ChannelsAddedAndRemovedWhileServing(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e.g.RunStreams(ctx)
	sc := &streamingConnector{testConnector: e.conn, started: make(chan struct{}), stopped: make(chan struct{})}
	added := Channel{Config: connector.Config{Name: "s", Type: "test", RPCURL: "http://127.0.0.1:9"}, Connector: sc}
	if err := e.g.AddChannels([]Channel{added, {Config: connector.Config{Name: "t", Type: "test"}, Connector: e.conn}}); err == nil || e.g.HasChannel("s") {
		t.Fatalf("adding a channel already served: %v (s served: %v)", err, e.g.HasChannel("s"))
	}
	if err := e.g.AddChannels([]Channel{added}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the added channel's stream", sc.started)
	post := func(channel string) int {
		body := `{"id":"m-` + channel + `","text":"x"}`
		req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/"+channel, strings.NewReader(body))
		req.Header.Set("X-Sig", e.conn.sign(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("s"); code != 200 {
		t.Fatalf("webhook of the added channel: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); e.a.Len() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d records, want the webhook's and the stream's", e.a.Len())
		}
	}
	if names := e.g.Channels(); len(names) != 2 || names[1].Name != "s" {
		t.Fatalf("channels listed: %+v", names)
	}

	if err := e.g.RemoveChannels([]string{"s", "nope"}); err == nil || !e.g.HasChannel("s") {
		t.Fatalf("removing a channel not served: %v (s still served: %v)", err, e.g.HasChannel("s"))
	}
	if err := e.g.RemoveChannels([]string{"s"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed channel's stream ending", sc.stopped)
	if code := post("s"); code != 404 {
		t.Fatalf("webhook of the removed channel: %d, want 404", code)
	}
	if code := post("t"); code != 200 {
		t.Fatalf("webhook of the channel kept: %d", code)
	}
}
