package app

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/connector"
)

// credentialFields are the connector settings SIGHUP may change while the
// server runs: the secrets a provider rotates (Meta's app secret, Twilio's
// auth token, Slack's signing secret...). They are named as in the
// configuration, for the record of the change.
var credentialFields = []struct {
	name string
	get  func(*connector.Config) any
	zero func(*connector.Config)
}{
	{"app_secret", func(c *connector.Config) any { return c.AppSecret }, func(c *connector.Config) { c.AppSecret = "" }},
	{"verify_token", func(c *connector.Config) any { return c.VerifyToken }, func(c *connector.Config) { c.VerifyToken = "" }},
	{"access_token", func(c *connector.Config) any { return c.AccessToken }, func(c *connector.Config) { c.AccessToken = "" }},
	{"auth_token", func(c *connector.Config) any { return c.AuthToken }, func(c *connector.Config) { c.AuthToken = "" }},
	{"shared_keys", func(c *connector.Config) any { return c.SharedKeys }, func(c *connector.Config) { c.SharedKeys = nil }},
	{"bot_token", func(c *connector.Config) any { return c.BotToken }, func(c *connector.Config) { c.BotToken = "" }},
	{"secret_token", func(c *connector.Config) any { return c.SecretToken }, func(c *connector.Config) { c.SecretToken = "" }},
	{"signing_secret", func(c *connector.Config) any { return c.SigningSecret }, func(c *connector.Config) { c.SigningSecret = "" }},
	{"push_token", func(c *connector.Config) any { return c.PushToken }, func(c *connector.Config) { c.PushToken = "" }},
}

// credentialChanges names the credentials that differ between was and
// now, and says whether anything else differs.
func credentialChanges(was, now connector.Config) (changed []string, other bool) {
	for _, f := range credentialFields {
		if !reflect.DeepEqual(f.get(&was), f.get(&now)) {
			changed = append(changed, f.name)
		}
		f.zero(&was)
		f.zero(&now)
	}
	return changed, !reflect.DeepEqual(was, now)
}

// ReloadChannels makes the credentials of cfg's channels (a validated
// configuration, read again: an env: reference reads the environment
// serve started with, a file: reference the file as it is now) the ones
// the running channels use, so a rotated secret takes effect without a
// restart, which would refuse webhooks for the journal's replay. Only
// credentials change: a channel added, removed or otherwise changed is
// refused (restart for those), and then nothing changes. The change is
// recorded in the archive first (which credentials of which channels,
// never their values); if that fails, nothing changes. It returns the
// channels whose credentials were replaced.
func (a *App) ReloadChannels(ctx context.Context, cfg config.Config) ([]string, error) {
	next, err := buildChannels(cfg)
	if err != nil {
		return nil, err
	}
	a.channelsMu.Lock()
	defer a.channelsMu.Unlock()
	cur := map[string]int{}
	for i, c := range a.channels {
		cur[c.Config.Name] = i
	}
	if len(next) != len(a.channels) {
		return nil, fmt.Errorf("channels were added or removed: restart serve for that")
	}
	replace := map[string]connector.Connector{}
	var names, lines []string
	meta := map[string]string{}
	for _, n := range next {
		i, ok := cur[n.Config.Name]
		if !ok {
			return nil, fmt.Errorf("channel %q was added: restart serve for that", n.Config.Name)
		}
		changed, other := credentialChanges(a.channels[i].Config, n.Config)
		if other || n.Retention != a.channels[i].Retention {
			return nil, fmt.Errorf("channel %q: settings other than its credentials changed: restart serve for those", n.Config.Name)
		}
		if len(changed) == 0 {
			continue
		}
		replace[n.Config.Name] = n.Connector
		names = append(names, n.Config.Name)
		lines = append(lines, n.Config.Name+" ("+strings.Join(changed, ", ")+")")
		meta["channel:"+n.Config.Name] = strings.Join(changed, ",")
	}
	if len(replace) == 0 {
		return nil, nil
	}
	slices.Sort(lines)
	now := time.Now().UTC()
	rec := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "admin.channel_credentials",
		ProviderID:   "channel_credentials:" + now.Format(time.RFC3339Nano) + ":" + randHex(4),
		Conversation: "admin", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "operator"}, SentAt: now,
		Body: "channel credentials replaced: " + strings.Join(lines, "; "), Meta: meta}
	if _, err := a.Archive.AppendSystem(ctx, rec); err != nil {
		return nil, fmt.Errorf("the change of channel credentials could not be recorded, so none was made: %w", err)
	}
	if err := a.Gateway.ReplaceConnectors(replace); err != nil {
		return nil, err
	}
	for _, n := range next {
		if c, ok := replace[n.Config.Name]; ok {
			i := cur[n.Config.Name]
			a.channels[i].Config, a.channels[i].Connector = n.Config, c
		}
	}
	slices.Sort(names)
	a.log.Info("channel credentials reloaded", "channels", strings.Join(lines, "; "))
	return names, nil
}
