package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/meta"
	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/starter"
)

// Governance is the directory, the contact registry and the policies, all
// recorded in the journal and rebuilt from it at start.
type Governance struct {
	Directory *meta.Directory
	Contacts  *meta.Contacts
	Policies  *policy.Engine
	Gate      *policy.Gate
	archive   *archive.Archive
	log       *slog.Logger
}

// systemRecorder writes directory and contact changes as system events.
type systemRecorder struct{ a *archive.Archive }

func (r systemRecorder) Record(ctx context.Context, c meta.Change) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	subject := ""
	switch {
	case c.Person != nil:
		subject = c.Person.UserName
	case c.Group != nil:
		subject = c.Group.DisplayName
	case c.Contact != nil:
		subject = c.Contact.Channel + ":" + c.Contact.Address + " " + c.Contact.State
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "directory." + c.Op, ProviderID: "change:" + meta.NewID(),
		Conversation: "directory", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: c.Actor}, SentAt: c.At,
		Body: strings.TrimSpace(c.Op + " " + subject + " " + c.Reason), Raw: raw}
	_, err = r.a.AppendSystem(ctx, ev)
	return err
}

// openGovernance builds the registries, replays their recorded history and
// loads the policies, recording the policy set if it changed.
func openGovernance(ctx context.Context, cfg config.Config, a *archive.Archive, log *slog.Logger) (*Governance, error) {
	rec := systemRecorder{a}
	ttl, _ := time.ParseDuration(cfg.ConsentTTL)
	g := &Governance{
		Directory: meta.New(meta.Options{Recorder: rec, FallbackAdminRole: cfg.FallbackAdminRole}),
		Contacts:  meta.NewContacts(meta.ContactOptions{Recorder: rec, Org: cfg.Organisation, TTL: ttl}),
		archive:   a,
		log:       log,
	}
	lastPolicy := ""
	err := a.ReplaySystem(func(seq uint64, ev *onrecord.Event) error {
		switch {
		case strings.HasPrefix(ev.Subtype, "directory."):
			var c meta.Change
			if err := json.Unmarshal(ev.Raw, &c); err != nil {
				return fmt.Errorf("directory change in record %d: %w", seq, err)
			}
			if c.Contact != nil {
				g.Contacts.ReplayContact(*c.Contact)
			} else {
				g.Directory.Replay(c)
			}
		case ev.Subtype == "policy.set":
			lastPolicy = ev.Meta["version"]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cfg.PolicyDir == "" {
		set, err := policy.Compile(starter.Files())
		if err != nil {
			return nil, fmt.Errorf("starter policies: %w", err)
		}
		g.Policies = policy.NewStaticEngine(set)
	} else if g.Policies, err = policy.NewEngine(cfg.PolicyDir); err != nil {
		return nil, fmt.Errorf("policy_dir: %w", err)
	}
	if v := g.Policies.Active().Version; v != lastPolicy {
		if err := g.recordPolicy(ctx, g.Policies.Active()); err != nil {
			return nil, err
		}
	}
	var roles []policy.Role
	for _, r := range cfg.Roles {
		roles = append(roles, policy.Role{Name: r.Name, Channels: r.Channels, CreateGroups: r.CreateGroups})
	}
	g.Gate = &policy.Gate{People: g.Directory, Contacts: g.Contacts, Policies: g.Policies, Roles: roles}
	return g, nil
}

// recordPolicy records a policy set with the full text of every file.
func (g *Governance) recordPolicy(ctx context.Context, s *policy.Set) error {
	raw, err := json.Marshal(s.Files)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range s.Files {
		names = append(names, f.Name)
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "policy.set", ProviderID: "policy:" + s.Version,
		Conversation: "policies", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "onrecord"}, SentAt: time.Now().UTC(),
		Body: "policy set " + s.Version + ": " + strings.Join(names, ", "), Raw: raw, Meta: map[string]string{"version": s.Version}}
	_, err = g.archive.AppendSystem(ctx, ev)
	return err
}

// run watches policy_dir and expires consent requests until ctx ends.
func (g *Governance) run(ctx context.Context) {
	go g.Policies.Watch(ctx, 2*time.Second, func(s *policy.Set) {
		if err := g.recordPolicy(ctx, s); err != nil {
			g.log.Error("policy change not recorded", "version", s.Version, "err", err)
			return
		}
		g.log.Info("policies reloaded", "version", s.Version, "rules", len(s.Rules()))
	}, func(err error) {
		g.log.Error("ALERT policy files refused; the previous policies stay in force", "err", err)
	})
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := g.Contacts.Expire(ctx); err != nil {
					g.log.Error("consent expiry not recorded", "err", err)
				} else if n > 0 {
					g.log.Info("consent requests expired", "count", n)
				}
			}
		}
	}()
}
