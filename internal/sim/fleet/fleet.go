// Package fleet runs all five provider simulators together on loopback,
// with fresh random secrets, and describes the gateway channels wired to
// them. `onrecord demo`, the end-to-end test and `onrecord bench ingest`
// use it; each simulator stays usable on its own.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
	signalsim "github.com/onrecord/onrecord/internal/sim/signal"
	slacksim "github.com/onrecord/onrecord/internal/sim/slack"
	telegramsim "github.com/onrecord/onrecord/internal/sim/telegram"
	twiliosim "github.com/onrecord/onrecord/internal/sim/twilio"
	whatsappsim "github.com/onrecord/onrecord/internal/sim/whatsapp"
)

// The channel names the fleet's gateway channels are configured under.
const (
	WhatsApp = "whatsapp"
	SMS      = "sms"
	Telegram = "telegram"
	Slack    = "slack"
	Signal   = "signal"
)

// Names lists the channels in a fixed order.
var Names = []string{WhatsApp, SMS, Telegram, Slack, Signal}

// Options configure Start.
type Options struct {
	// SignalStream makes the Signal channel subscribe to the simulated
	// signal-cli event stream (rpc_url) as well as accept pushes;
	// SignalStreamCount notifications are queued on it at start (negative:
	// none, 0: the simulator's default).
	SignalStream      bool
	SignalStreamCount int
	// Now, if set, is the clock Slack signatures use.
	Now func() time.Time
}

// Fleet is the five simulators, each served on its own loopback port.
type Fleet struct {
	WhatsApp *whatsappsim.Sim
	Twilio   *twiliosim.Sim
	Telegram *telegramsim.Sim
	Slack    *slacksim.Sim
	Signal   *signalsim.Sim

	opts    Options
	servers []*http.Server
	urls    map[string]string
}

// Start creates the simulators with random secrets and serves each on
// 127.0.0.1 with an ephemeral port.
func Start(opts Options) (*Fleet, error) {
	f := &Fleet{
		opts: opts,
		WhatsApp: whatsappsim.New(whatsappsim.Options{AppSecret: secret(), VerifyToken: secret(),
			AccessToken: "EAAG" + secret(), PhoneNumberID: "106540352242922"}),
		Twilio:   twiliosim.New(twiliosim.Options{AuthToken: secret(), AccountSID: "AC" + secret()[:32]}),
		Telegram: telegramsim.New(telegramsim.Options{BotToken: "7012345678:" + secret(), SecretToken: secret()}),
		Slack:    slacksim.New(slacksim.Options{SigningSecret: secret(), BotToken: "xoxb-" + secret(), Now: opts.Now}),
		Signal:   signalsim.New(signalsim.Options{PushToken: secret(), StreamCount: opts.SignalStreamCount}),
		urls:     map[string]string{},
	}
	type served interface {
		Handler() http.Handler
		SetBaseURL(string)
	}
	for _, s := range []struct {
		name string
		sim  served
	}{{WhatsApp, f.WhatsApp}, {SMS, f.Twilio}, {Telegram, f.Telegram}, {Slack, f.Slack}, {Signal, f.Signal}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("fleet: listen for the %s simulator: %w", s.name, err)
		}
		u := "http://" + ln.Addr().String()
		s.sim.SetBaseURL(u)
		srv := &http.Server{Handler: s.sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln) //nolint:errcheck // ends with Close
		f.servers = append(f.servers, srv)
		f.urls[s.name] = u
	}
	return f, nil
}

// URL is where the named channel's simulator is served.
func (f *Fleet) URL(name string) string { return f.urls[name] }

// Channels returns the [[channel]] blocks that wire a gateway to the
// simulators. publicURL is the gateway's public_url (Twilio signs it).
func (f *Fleet) Channels(publicURL string) []config.Channel {
	ccs := []connector.Config{
		f.WhatsApp.ChannelConfig(WhatsApp, publicURL),
		f.Twilio.ChannelConfig(SMS, publicURL),
		f.Telegram.ChannelConfig(Telegram, publicURL),
		f.Slack.ChannelConfig(Slack, publicURL),
		f.Signal.ChannelConfig(Signal, publicURL),
	}
	out := make([]config.Channel, len(ccs))
	for i, c := range ccs {
		out[i] = config.Channel{
			Name: c.Name, Type: c.Type, APIBaseURL: c.APIBaseURL,
			AppSecret: c.AppSecret, VerifyToken: c.VerifyToken, AccessToken: c.AccessToken, PhoneNumberID: c.PhoneNumberID,
			AuthToken: c.AuthToken, AccountSID: c.AccountSID, From: c.From, SharedKeys: c.SharedKeys,
			BotToken: c.BotToken, SecretToken: c.SecretToken, SigningSecret: c.SigningSecret,
			RPCURL: c.RPCURL, Account: c.Account, PushToken: c.PushToken, KeepTyping: c.KeepTyping,
		}
		if !f.opts.SignalStream {
			out[i].RPCURL = ""
		}
	}
	return out
}

// HookURL is the webhook URL of the named channel under publicURL.
func HookURL(publicURL, name string) string {
	return strings.TrimRight(publicURL, "/") + "/hooks/" + name
}

// Deliveries returns one delivery of every kind each simulator produces,
// keyed by channel name.
func (f *Fleet) Deliveries(publicURL string) map[string][]sim.Delivery {
	return map[string][]sim.Delivery{
		WhatsApp: f.WhatsApp.Deliveries(HookURL(publicURL, WhatsApp)),
		SMS:      f.Twilio.Deliveries(HookURL(publicURL, SMS)),
		Telegram: f.Telegram.Deliveries(HookURL(publicURL, Telegram)),
		Slack:    f.Slack.Deliveries(HookURL(publicURL, Slack)),
		Signal:   f.Signal.Deliveries(HookURL(publicURL, Signal)),
	}
}

// Workload returns n realistic deliveries spread over the five channels,
// interleaved so that each channel's own order (an edit after its
// original) is kept. The same seed gives the same conversations.
func (f *Fleet) Workload(publicURL string, seed int64, n int) []sim.Delivery {
	per := make([][]sim.Delivery, len(Names))
	for i, name := range Names {
		k := n / len(Names)
		if i < n%len(Names) {
			k++
		}
		if k == 0 {
			continue
		}
		hook := HookURL(publicURL, name)
		s := seed + int64(i)
		switch name {
		case WhatsApp:
			per[i] = f.WhatsApp.Workload(hook, s, k)
		case SMS:
			per[i] = f.Twilio.Workload(hook, s, k)
		case Telegram:
			per[i] = f.Telegram.Workload(hook, s, k)
		case Slack:
			per[i] = f.Slack.Workload(hook, s, k)
		case Signal:
			per[i] = f.Signal.Workload(hook, s, k)
		}
	}
	out := make([]sim.Delivery, 0, n)
	for j := 0; len(out) < n; j++ {
		progressed := false
		for i := range per {
			if j < len(per[i]) {
				out = append(out, per[i][j])
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	return out
}

// Text returns a delivery of one text message from the external party
// from to the named channel's gateway endpoint, signed as that provider
// signs it. from is in the form the channel's connector names the sender
// and the organisation addresses them: a WhatsApp id ("4915112345678"), a
// Twilio address ("+4915112345678" or "whatsapp:+4915112345678"), a
// Telegram user id, a Slack user id, a Signal number or uuid. It panics
// on a name that is not one of Names, a mistake in the calling test.
func (f *Fleet) Text(publicURL, name, from, body string) sim.Delivery {
	hook := HookURL(publicURL, name)
	switch name {
	case WhatsApp:
		return f.WhatsApp.Text(hook, from, body)
	case SMS:
		return f.Twilio.Text(hook, from, body)
	case Telegram:
		return f.Telegram.Text(hook, from, body)
	case Slack:
		return f.Slack.Text(hook, from, body)
	case Signal:
		return f.Signal.Text(hook, from, body)
	}
	panic(fmt.Sprintf("fleet: no channel %q", name))
}

// SentText is a message the gateway sent through a simulator, reduced to
// what every provider has: the recipient as the provider records it and
// the text (or caption).
type SentText struct {
	To   string
	Text string
}

// Sent returns what the gateway sent through the named channel's
// simulator, in order. To is as each API received it (a Signal group send
// is its group id), except for Slack, where the simulator opens the DM for
// a user id and so reports the DM's channel id ("D..." for "U...").
func (f *Fleet) Sent(name string) []SentText {
	var out []SentText
	switch name {
	case WhatsApp:
		for _, m := range f.WhatsApp.Sent() {
			out = append(out, SentText{To: m.To, Text: m.Body})
		}
	case SMS:
		for _, m := range f.Twilio.Sent() {
			out = append(out, SentText{To: m.To, Text: m.Body})
		}
	case Telegram:
		for _, m := range f.Telegram.Sent() {
			out = append(out, SentText{To: m.ChatID, Text: m.Text})
		}
	case Slack:
		for _, m := range f.Slack.Sent() {
			out = append(out, SentText{To: m.Channel, Text: m.Text})
		}
	case Signal:
		for _, m := range f.Signal.Sent() {
			to := strings.Join(m.Recipients, ",")
			if m.GroupID != "" {
				to = m.GroupID
			}
			out = append(out, SentText{To: to, Text: m.Message})
		}
	}
	return out
}

// Close stops every simulator.
func (f *Fleet) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var errs []error
	for _, s := range f.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

func secret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
