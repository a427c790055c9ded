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
	"github.com/onrecord/onrecord/internal/ingest"
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

// ChannelReload is what ReloadChannels changed: the channels whose
// credentials were replaced, and those added and removed, by name.
type ChannelReload struct {
	Credentials, Added, Removed []string
}

// Changed says whether the reload changed anything.
func (r ChannelReload) Changed() bool {
	return len(r.Credentials)+len(r.Added)+len(r.Removed) > 0
}

// ReloadChannels makes cfg's channels (a validated configuration, read
// again: an env: reference reads the environment serve started with, a
// file: reference the file as it is now) the ones the gateway serves,
// without the restart that would refuse webhooks for the journal's replay:
// a rotated secret takes effect at the next delivery, a channel added to
// the configuration is served (its webhooks and event stream), and one
// taken out is no longer (404; its queued media fetches are kept). A
// channel whose other settings changed (type, ids, URLs, retention class)
// is refused (restart for those, or give it a new name), and then nothing
// changes. The change is recorded in the archive first — channels added
// with their type, channels removed, which credentials of which channels,
// never their values — and if that fails, nothing changes.
func (a *App) ReloadChannels(ctx context.Context, cfg config.Config) (ChannelReload, error) {
	var done ChannelReload
	next, err := buildChannels(cfg)
	if err != nil {
		return done, err
	}
	a.channelsMu.Lock()
	defer a.channelsMu.Unlock()
	cur := map[string]int{}
	for i, c := range a.channels {
		cur[c.Config.Name] = i
	}
	inNext := map[string]ingest.Channel{}
	replace := map[string]connector.Connector{}
	var added []ingest.Channel
	var credLines, addLines []string
	credMeta, chanMeta := map[string]string{}, map[string]string{}
	for _, n := range next {
		inNext[n.Config.Name] = n
		i, ok := cur[n.Config.Name]
		if !ok {
			added = append(added, n)
			done.Added = append(done.Added, n.Config.Name)
			addLines = append(addLines, n.Config.Name+" ("+n.Config.Type+")")
			chanMeta["added:"+n.Config.Name] = n.Config.Type
			continue
		}
		changed, other := credentialChanges(a.channels[i].Config, n.Config)
		if other || n.Retention != a.channels[i].Retention {
			return ChannelReload{}, fmt.Errorf("channel %q: settings other than its credentials changed: restart serve for those, or add it under a new name", n.Config.Name)
		}
		if len(changed) == 0 {
			continue
		}
		replace[n.Config.Name] = n.Connector
		done.Credentials = append(done.Credentials, n.Config.Name)
		credLines = append(credLines, n.Config.Name+" ("+strings.Join(changed, ", ")+")")
		credMeta["channel:"+n.Config.Name] = strings.Join(changed, ",")
	}
	for _, c := range a.channels {
		if _, ok := inNext[c.Config.Name]; !ok {
			done.Removed = append(done.Removed, c.Config.Name)
			chanMeta["removed:"+c.Config.Name] = c.Config.Type
		}
	}
	if !done.Changed() {
		return done, nil
	}
	now := time.Now().UTC()
	record := func(subtype, body string, meta map[string]string) error {
		_, err := a.Archive.AppendSystem(ctx, &onrecord.Event{Kind: onrecord.KindSystem, Subtype: subtype,
			ProviderID:   strings.TrimPrefix(subtype, "admin.") + ":" + now.Format(time.RFC3339Nano) + ":" + randHex(4),
			Conversation: "admin", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "operator"}, SentAt: now,
			Body: body, Meta: meta})
		return err
	}
	if len(added)+len(done.Removed) > 0 {
		var parts []string
		if len(addLines) > 0 {
			slices.Sort(addLines)
			parts = append(parts, "added: "+strings.Join(addLines, ", "))
		}
		if len(done.Removed) > 0 {
			slices.Sort(done.Removed)
			parts = append(parts, "removed: "+strings.Join(done.Removed, ", "))
		}
		if err := record("admin.channels", "channels "+strings.Join(parts, "; "), chanMeta); err != nil {
			return ChannelReload{}, fmt.Errorf("the change of channels could not be recorded, so none was made: %w", err)
		}
	}
	if len(replace) > 0 {
		slices.Sort(credLines)
		if err := record("admin.channel_credentials", "channel credentials replaced: "+strings.Join(credLines, "; "), credMeta); err != nil {
			return ChannelReload{}, fmt.Errorf("the change of channel credentials could not be recorded, so none was made: %w", err)
		}
	}
	// Every change below was checked above: none fails but for a bug.
	if err := a.Gateway.RemoveChannels(done.Removed); err != nil {
		return ChannelReload{}, err
	}
	if err := a.Gateway.AddChannels(added); err != nil {
		return ChannelReload{}, err
	}
	if err := a.Gateway.ReplaceConnectors(replace); err != nil {
		return ChannelReload{}, err
	}
	kept := a.channels[:0:0]
	for _, c := range a.channels {
		n, ok := inNext[c.Config.Name]
		if !ok {
			continue
		}
		if _, ok := replace[c.Config.Name]; ok {
			c.Config, c.Connector = n.Config, n.Connector
		}
		kept = append(kept, c)
	}
	a.channels = append(kept, added...)
	slices.Sort(done.Credentials)
	slices.Sort(done.Added)
	a.log.Info("channels reloaded", "credentials", strings.Join(credLines, "; "), "added", strings.Join(addLines, ", "),
		"removed", strings.Join(done.Removed, ", "))
	return done, nil
}
