package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/sim"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// demoDataDir is where the demo keeps its archive unless --data-dir says
// otherwise: never the real archive's default directory.
const demoDataDir = "./onrecord-demo-data"

func (m *Main) demo(ctx context.Context, args []string) int {
	fs, load := m.flags("demo", "[--rate 12] [--for 0]")
	rate := fs.Float64("rate", 12, "webhook deliveries per second, on average, across the five simulated channels")
	limit := fs.Duration("for", 0, "stop after this long (0: until interrupted)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *rate <= 0 {
		fmt.Fprintln(m.Stderr, "onrecord demo: --rate must be positive")
		return ExitUsage
	}
	if cfg.DataDir == config.Default().DataDir {
		cfg.DataDir = demoDataDir
	}
	if *limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *limit)
		defer cancel()
	}
	f, err := fleet.Start(fleet.Options{SignalStream: true})
	if err != nil {
		return m.fail(err)
	}
	defer f.Close()
	token := randomToken()
	return m.run(ctx, cfg, runHooks{
		prepare: func(cfg *config.Config, publicURL string) error {
			// The simulators sign what they send with secrets made for
			// this run; the gateway is configured with the same.
			cfg.PublicURL = publicURL
			cfg.Channels = f.Channels(publicURL)
			cfg.NamedAPITokens = append(cfg.NamedAPITokens, config.APIToken{Name: "demo", Token: token})
			return cfg.Validate()
		},
		started: func(ctx context.Context, a *app.App, publicURL, adminURL string) {
			abs, _ := filepath.Abs(cfg.DataDir)
			fmt.Fprintf(m.Stdout, `
onrecord demo: five simulated providers (WhatsApp Cloud API, Twilio, Telegram, Slack, signal-cli)
are sending signed webhooks to this gateway; every one is sealed and committed before it is acknowledged.

  Channels and health:  curl -H 'Authorization: Bearer %[1]s' %[2]s/api/v1/channels
  Send a message:       curl -H 'Authorization: Bearer %[1]s' -d '{"channel":"slack","to":"C0WEALTH01","body":"Confirmed for Thursday."}' %[2]s/api/v1/messages
  Signed checkpoint:    curl %[2]s/log/checkpoint
  Metrics:              curl %[3]s/metrics | grep onrecord_
  After Ctrl-C:         onrecord verify --data-dir %[4]s

`, token, publicURL, adminURL, abs)
			m.drive(ctx, a, f, publicURL, token, *rate)
		},
	})
}

// drive sends the simulators' workload to the gateway at about rate per
// second, in bursts as real traffic comes, and prints a summary line every
// five seconds.
func (m *Main) drive(ctx context.Context, a *app.App, f *fleet.Fleet, publicURL, token string, rate float64) {
	client := &http.Client{Timeout: 30 * time.Second}
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1)) // #nosec G404 -- the demo's pacing, not a secret
	seed := time.Now().Unix() % 100000 * 100
	var queue []sim.Delivery
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	sent, refused := 0, 0
	start := time.Now()
	for n := 0; ctx.Err() == nil; n++ {
		if len(queue) == 0 {
			// Each batch is a fresh slice of a business day; seeds never
			// repeat, so neither do provider ids.
			seed++
			queue = f.Workload(publicURL, seed, 250)
		}
		d := queue[0]
		queue = queue[1:]
		if code, _, err := d.Send(ctx, client); err == nil && code == http.StatusOK {
			sent++
		} else if ctx.Err() == nil {
			refused++
		}
		if n%97 == 42 {
			m.demoSend(ctx, client, publicURL, token, n)
		}
		// Exponential gaps: a Poisson stream at the chosen rate.
		gap := time.Duration(-math.Log(1-rng.Float64()) / rate * float64(time.Second))
		select {
		case <-ctx.Done():
		case <-time.After(gap):
		case <-tick.C:
			m.demoSummary(a, sent, refused, time.Since(start))
		}
	}
	m.demoSummary(a, sent, refused, time.Since(start))
}

// demoSend sends one message from the organisation through the API, as an
// employee's client would: committed first, then sent through the provider.
func (m *Main) demoSend(ctx context.Context, client *http.Client, publicURL, token string, n int) {
	msgs := []struct{ channel, to, body string }{
		{fleet.Slack, "C0WEALTH01", "Thursday 10:00 confirmed; the review pack is in the shared folder."},
		{fleet.SMS, "+14155550142", "Your documents have been received. We will call you tomorrow."},
		{fleet.WhatsApp, "4915112345678", "Guten Tag, the transfer was executed this morning."},
	}
	msg := msgs[n%len(msgs)]
	body, _ := json.Marshal(map[string]string{"channel": msg.channel, "to": msg.to, "body": msg.body})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, publicURL+"/api/v1/messages", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
}

func (m *Main) demoSummary(a *app.App, sent, refused int, elapsed time.Duration) {
	var parts []string
	for _, c := range a.Gateway.Channels() {
		var n uint64
		for _, v := range c.EventsByKind {
			n += v
		}
		parts = append(parts, fmt.Sprintf("%s %d", c.Name, n))
	}
	sort.Strings(parts)
	fmt.Fprintf(m.Stdout, "%6.0fs  %d webhooks acknowledged (%d not), %d records, log size %d  [%s]\n",
		elapsed.Seconds(), sent, refused, a.Archive.Len(), a.Archive.Ledger().Size(), strings.Join(parts, ", "))
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}
