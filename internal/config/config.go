// Package config holds onrecord's one Config struct and how it is assembled:
// embedded defaults, then a TOML file (--config), then ONRECORD_* environment
// variables, then flags; Validate checks the result and says what to fix.
package config

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

//go:embed defaults.toml
var defaultsTOML string

// RetentionClass is a named retention period. A zero Duration with
// Permanent set means the records are never disposed of.
type RetentionClass struct {
	Name     string `toml:"name"`
	Duration string `toml:"duration"`
}

// Config is every setting of onrecord. Field tags give the TOML key; the
// environment variable is ONRECORD_ followed by the key in upper case, and
// the flag is --key with '_' written as '-'.
type Config struct {
	DataDir            string `toml:"data_dir"`
	ExportDir          string `toml:"export_dir"`
	Listen             string `toml:"listen"`
	AdminListen        string `toml:"admin_listen"`
	TLSCert            string `toml:"tls_cert"`
	TLSKey             string `toml:"tls_key"`
	BehindTLSProxy     bool   `toml:"behind_tls_proxy"`
	KeyFile            string `toml:"key_file"`
	KeyPassphrase      string `toml:"key_passphrase"`
	LogOrigin          string `toml:"log_origin"`
	CheckpointEvery    int    `toml:"checkpoint_every"`
	CheckpointInterval string `toml:"checkpoint_interval"`
	SegmentSize        string `toml:"segment_size"`
	MaxBatchDelay      string `toml:"max_batch_delay"`
	LogLevel           string `toml:"log_level"`
	// IndexPriority is the search index tailer's CPU priority:
	// IndexPriorityIdle or IndexPriorityNormal.
	IndexPriority string `toml:"index_priority"`

	DefaultRetentionClass string           `toml:"default_retention_class"`
	RetentionClasses      []RetentionClass `toml:"retention_class"`

	// PublicURL is the URL providers call, used to rebuild signed URLs
	// (Twilio); empty means the request's own scheme and host.
	PublicURL string `toml:"public_url"`
	// MaxBodyBytes caps a webhook body; MaxMediaBytes one fetched file.
	MaxBodyBytes  string `toml:"max_body_bytes"`
	MaxMediaBytes string `toml:"max_media_bytes"`
	MediaTimeout  string `toml:"media_timeout"`
	// MaxBodyMemory bounds the webhook body buffers held at once (read,
	// being verified, parsed and committed; reserved as they grow); a
	// delivery with no room is answered 503. MaxMediaMemory bounds the fetched files
	// waiting for their records' commit; a file beyond it is fetched after
	// the acknowledgement, from the durable queue.
	MaxBodyMemory  string `toml:"max_body_memory"`
	MaxMediaMemory string `toml:"max_media_memory"`
	// MediaAllowHosts are extra host names (or host:port) media may be
	// fetched from, beyond each provider's own hosts and api_base_url.
	MediaAllowHosts []string `toml:"media_allow_hosts"`
	// APITokens are bearer tokens accepted by /api/v1 (env:NAME, file:PATH
	// or a value); none configured means the API refuses every call. They
	// have no names: what one does is recorded as api_tokens[i], its
	// place in this list. [[api_token]] blocks name them and may make them
	// expire.
	APITokens []string `toml:"api_tokens"`
	// NamedAPITokens are [[api_token]] blocks.
	NamedAPITokens []APIToken `toml:"api_token"`

	Channels []Channel `toml:"channel"`

	// Governance.
	// Organisation names the organisation in consent notices.
	Organisation string `toml:"organisation"`
	// ScimToken is the bearer token of /scim/v2 (env:NAME, file:PATH or a
	// value); empty disables SCIM.
	ScimToken string `toml:"scim_token"`
	// PolicyDir holds the policy YAML files; empty means the built-in
	// starter pack.
	PolicyDir string `toml:"policy_dir"`
	// ConsentTTL is how long a consent request waits for an answer.
	ConsentTTL string `toml:"consent_ttl"`
	// FallbackAdminRole receives group administration from a departing
	// admin who has no active manager.
	FallbackAdminRole string `toml:"fallback_admin_role"`
	// Roles carry channel entitlements.
	Roles []Role `toml:"role"`
}

// APIToken is one [[api_token]] block: a bearer token of /api/v1 with the
// name the access log records for what it does, and optionally the time
// from which it is refused.
type APIToken struct {
	Name  string `toml:"name"`
	Token string `toml:"token"` // a value, env:NAME or file:PATH
	// Expires is an RFC 3339 time or a date (the token is refused from
	// its midnight, UTC); empty means it does not expire.
	Expires string `toml:"expires"`
}

// ExpiresAt is when the token stops being accepted (zero if never). Call
// after Validate.
func (t APIToken) ExpiresAt() time.Time {
	at, _ := parseExpiry(t.Expires)
	return at
}

func parseExpiry(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if at, err := time.Parse(time.RFC3339, s); err == nil {
		return at.UTC(), nil
	}
	at, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2027-01-31T17:00:00Z) nor a date (2027-01-31)", s)
	}
	return at, nil
}

// tokenName is what an [[api_token]] may be called: it goes into the
// access log as api:NAME.
var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// APITokenList returns every API token, the unnamed api_tokens first (named
// api_tokens[i]) and then the [[api_token]] blocks, secrets unresolved.
// Call after Validate.
func (c *Config) APITokenList() []APIToken {
	out := make([]APIToken, 0, len(c.APITokens)+len(c.NamedAPITokens))
	for i, t := range c.APITokens {
		out = append(out, APIToken{Name: fmt.Sprintf("api_tokens[%d]", i), Token: t})
	}
	return append(out, c.NamedAPITokens...)
}

// Role is one [[role]] block: the channels a role may use and on which it
// may create groups.
type Role struct {
	Name         string   `toml:"name"`
	Channels     []string `toml:"channels"`
	CreateGroups []string `toml:"create_groups"`
	// AdministerGroups lists the channels on which the role's members are
	// made admins of the governed groups they join ("*" for all).
	AdministerGroups []string `toml:"administer_groups"`
}

// Channel is one [[channel]] block. Secret fields take a value, env:NAME or
// file:PATH.
type Channel struct {
	Name          string `toml:"name"`
	Type          string `toml:"type"`
	APIBaseURL    string `toml:"api_base_url"`
	AppSecret     string `toml:"app_secret"`
	VerifyToken   string `toml:"verify_token"`
	AccessToken   string `toml:"access_token"`
	PhoneNumberID string `toml:"phone_number_id"`
	AuthToken     string `toml:"auth_token"`
	// SharedKeys (Twilio) are the secrets of the SharedKeys a Twilio
	// Webhook Setting signs with instead of the Auth Token; two while one
	// is rotated. Each a value, env:NAME or file:PATH.
	SharedKeys    []string `toml:"shared_keys"`
	AccountSID    string   `toml:"account_sid"`
	From          string   `toml:"from"`
	BotToken      string   `toml:"bot_token"`
	SecretToken   string   `toml:"secret_token"`
	SigningSecret string   `toml:"signing_secret"`
	RPCURL        string   `toml:"rpc_url"`
	Account       string   `toml:"account"`
	PushToken     string   `toml:"push_token"`
	KeepTyping    bool     `toml:"keep_typing"`
	// RetentionClass is the class this channel's records are kept under
	// (default: default_retention_class).
	RetentionClass string `toml:"retention_class"`
}

// ChannelTypes are the connector types onrecord has.
var ChannelTypes = []string{"whatsapp", "twilio", "telegram", "slack", "signal"}

// Secrets returns the channel's secret-bearing fields by TOML key.
func (ch *Channel) Secrets() map[string]*string {
	return map[string]*string{
		"app_secret": &ch.AppSecret, "verify_token": &ch.VerifyToken, "access_token": &ch.AccessToken,
		"auth_token": &ch.AuthToken, "bot_token": &ch.BotToken, "secret_token": &ch.SecretToken,
		"signing_secret": &ch.SigningSecret, "push_token": &ch.PushToken,
	}
}

// scalar keys that environment variables and flags may set.
var scalarKeys = []string{
	"data_dir", "export_dir", "listen", "admin_listen", "tls_cert", "tls_key", "behind_tls_proxy", "key_file", "key_passphrase",
	"log_origin", "checkpoint_every", "checkpoint_interval", "segment_size", "max_batch_delay",
	"index_priority", "log_level", "default_retention_class", "public_url", "max_body_bytes", "max_media_bytes", "media_timeout", "max_body_memory",
	"max_media_memory",
	"organisation", "scim_token", "policy_dir", "consent_ttl", "fallback_admin_role",
}

// Default returns the embedded defaults.
func Default() Config {
	var c Config
	if _, err := toml.Decode(defaultsTOML, &c); err != nil {
		// The defaults are compiled in and covered by tests.
		panic("config: embedded defaults do not parse: " + err.Error())
	}
	return c
}

// Loader assembles a Config from its sources.
type Loader struct {
	// File is the TOML file given with --config; empty for none.
	File string
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// flags set on the command line, by key.
	flags map[string]*string
}

// RegisterFlags adds --config and one flag per scalar key to fs.
func (l *Loader) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.File, "config", "", "TOML configuration file")
	l.flags = map[string]*string{}
	for _, k := range scalarKeys {
		l.flags[k] = fs.String(strings.ReplaceAll(k, "_", "-"), "", "overrides "+k+" (env ONRECORD_"+strings.ToUpper(k)+")")
	}
}

// Load applies defaults, file, environment and flags, in that order, then
// validates.
func (l *Loader) Load(fs *flag.FlagSet) (Config, error) {
	c := Default()
	if l.File != "" {
		b, err := os.ReadFile(l.File)
		if err != nil {
			return c, fmt.Errorf("read config file: %w", err)
		}
		md, err := toml.Decode(string(b), &c)
		if err != nil {
			return c, fmt.Errorf("config file %s: %w", l.File, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return c, fmt.Errorf("config file %s: unknown keys %s (check the spelling against the README)", l.File, strings.Join(keys, ", "))
		}
	}
	env := l.Env
	if env == nil {
		env = os.LookupEnv
	}
	for _, k := range scalarKeys {
		if v, ok := env("ONRECORD_" + strings.ToUpper(k)); ok {
			if err := c.set(k, v, "environment variable ONRECORD_"+strings.ToUpper(k)); err != nil {
				return c, err
			}
		}
	}
	if fs != nil {
		var err error
		fs.Visit(func(f *flag.Flag) {
			k := strings.ReplaceAll(f.Name, "-", "_")
			if p, ok := l.flags[k]; ok && err == nil {
				err = c.set(k, *p, "flag --"+f.Name)
			}
		})
		if err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

func (c *Config) set(key, v, source string) error {
	switch key {
	case "data_dir":
		c.DataDir = v
	case "export_dir":
		c.ExportDir = v
	case "listen":
		c.Listen = v
	case "admin_listen":
		c.AdminListen = v
	case "tls_cert":
		c.TLSCert = v
	case "tls_key":
		c.TLSKey = v
	case "behind_tls_proxy":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: behind_tls_proxy must be true or false, got %q", source, v)
		}
		c.BehindTLSProxy = b
	case "key_file":
		c.KeyFile = v
	case "key_passphrase":
		c.KeyPassphrase = v
	case "log_origin":
		c.LogOrigin = v
	case "checkpoint_every":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s: checkpoint_every must be a whole number, got %q", source, v)
		}
		c.CheckpointEvery = n
	case "checkpoint_interval":
		c.CheckpointInterval = v
	case "segment_size":
		c.SegmentSize = v
	case "max_batch_delay":
		c.MaxBatchDelay = v
	case "log_level":
		c.LogLevel = v
	case "index_priority":
		c.IndexPriority = v
	case "default_retention_class":
		c.DefaultRetentionClass = v
	case "public_url":
		c.PublicURL = v
	case "max_body_bytes":
		c.MaxBodyBytes = v
	case "max_media_bytes":
		c.MaxMediaBytes = v
	case "media_timeout":
		c.MediaTimeout = v
	case "max_body_memory":
		c.MaxBodyMemory = v
	case "max_media_memory":
		c.MaxMediaMemory = v
	case "organisation":
		c.Organisation = v
	case "scim_token":
		c.ScimToken = v
	case "policy_dir":
		c.PolicyDir = v
	case "consent_ttl":
		c.ConsentTTL = v
	case "fallback_admin_role":
		c.FallbackAdminRole = v
	default:
		return fmt.Errorf("%s: unknown key %q", source, key)
	}
	return nil
}

var classNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// loopbackOnly says whether a listener on addr (host:port) can be reached
// from this machine only: localhost or a loopback address. An empty host,
// 0.0.0.0 or :: listen on every interface; any other name or address may
// be reachable from elsewhere.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true // reported as not host:port
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckPublicAddr refuses a public listener on addr that other machines
// could reach over plain HTTP: it would carry webhook secrets, API tokens
// and messages in the clear. It is Validate's check of listen, and serve's
// of a socket systemd passed it.
func (c *Config) CheckPublicAddr(addr string) error {
	if c.TLSCert == "" && !c.BehindTLSProxy && !loopbackOnly(addr) {
		return fmt.Errorf("%q can be reached from other machines over plain HTTP, which would carry webhook secrets, API tokens "+
			"and messages in the clear: set tls_cert and tls_key, or behind_tls_proxy = true if a TLS-terminating proxy is the only way in", addr)
	}
	return nil
}

// The values of index_priority: IndexPriorityIdle runs the search index's
// catch-ups on a thread the kernel gives only CPU time capture leaves
// (where the platform has one); IndexPriorityNormal at capture's priority.
const (
	IndexPriorityIdle   = "idle"
	IndexPriorityNormal = "normal"
)

// SystemClass is the class system records (holds) are sealed under; it is
// permanent and cannot be configured away.
const SystemClass = "system"

// Validate checks every field and returns all problems at once, each naming
// the field and saying what to do.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "is empty; set it to the directory that holds the archive")
	}
	if d, e := filepath.Clean(c.DataDir), filepath.Clean(c.ExportDir); c.ExportDir != "" && (e == d || strings.HasPrefix(e, d+string(filepath.Separator))) {
		bad("export_dir", "%q is inside data_dir: exports are plaintext and the data directory holds nothing in the clear", c.ExportDir)
	}
	for _, a := range []struct{ field, v string }{{"listen", c.Listen}, {"admin_listen", c.AdminListen}} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			bad(a.field, "%q is not host:port (for example 127.0.0.1:8080)", a.v)
		}
	}
	if c.Listen == c.AdminListen && c.Listen != "" {
		bad("admin_listen", "must differ from listen (%s): metrics and health are never served on the public listener", c.Listen)
	}
	if err := c.CheckPublicAddr(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls_cert", "tls_cert and tls_key must be set together (or neither, behind a TLS-terminating proxy)")
	}
	for _, f := range []struct{ field, path string }{{"tls_cert", c.TLSCert}, {"tls_key", c.TLSKey}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				bad(f.field, "cannot read %s: %v", f.path, err)
			}
		}
	}
	if _, err := ResolveSecret(c.KeyPassphrase); err != nil {
		bad("key_passphrase", "%v", err)
	}
	if strings.TrimSpace(c.LogOrigin) == "" || strings.ContainsAny(c.LogOrigin, "\n+ ") {
		bad("log_origin", "%q must be a non-empty name without spaces, '+' or newlines (for example records.example.gov/log)", c.LogOrigin)
	}
	if c.CheckpointEvery < 1 || c.CheckpointEvery > 1000 {
		bad("checkpoint_every", "%d must be between 1 and 1000 records", c.CheckpointEvery)
	}
	if d, err := time.ParseDuration(c.CheckpointInterval); err != nil || d <= 0 || d > time.Second {
		bad("checkpoint_interval", "%q must be a duration from 1ms to 1s", c.CheckpointInterval)
	}
	if d, err := time.ParseDuration(c.MaxBatchDelay); err != nil || d < 0 || d > 10*time.Millisecond {
		bad("max_batch_delay", "%q must be a duration from 0 to 10ms", c.MaxBatchDelay)
	}
	if n, err := ParseSize(c.SegmentSize); err != nil || n < 1<<20 || n > 4<<30 {
		bad("segment_size", "%q must be a size from 1MiB to 4GiB (for example 64MiB)", c.SegmentSize)
	}
	if !slices.Contains([]string{IndexPriorityIdle, IndexPriorityNormal}, c.IndexPriority) {
		bad("index_priority", "%q must be idle or normal", c.IndexPriority)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log_level", "%q must be debug, info, warn or error", c.LogLevel)
	}
	seen := map[string]bool{}
	for i, rc := range c.RetentionClasses {
		field := fmt.Sprintf("retention_class[%d]", i)
		if !classNameRE.MatchString(rc.Name) || rc.Name == SystemClass {
			bad(field+".name", "%q must match [a-z0-9_-]{1,64} and not be %q", rc.Name, SystemClass)
		}
		if seen[rc.Name] {
			bad(field+".name", "%q is defined twice", rc.Name)
		}
		seen[rc.Name] = true
		if _, err := ParseRetention(rc.Duration); err != nil {
			bad(field+".duration", "%v", err)
		}
	}
	if !seen[c.DefaultRetentionClass] {
		bad("default_retention_class", "%q is not a defined retention_class", c.DefaultRetentionClass)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("public_url", "%q must be an absolute http(s) URL such as https://records.example.gov", c.PublicURL)
		}
	}
	if n, err := ParseSize(c.MaxBodyBytes); err != nil || n < 1<<10 || n > 64<<20 {
		bad("max_body_bytes", "%q must be a size from 1KiB to 64MiB", c.MaxBodyBytes)
	}
	if n, err := ParseSize(c.MaxBodyMemory); err != nil || n < 1<<20 || n > 64<<30 {
		bad("max_body_memory", "%q must be a size from 1MiB to 64GiB", c.MaxBodyMemory)
	} else if body, err := ParseSize(c.MaxBodyBytes); err == nil && n < body {
		bad("max_body_memory", "%q is less than max_body_bytes (%s): a delivery that large could never be taken", c.MaxBodyMemory, c.MaxBodyBytes)
	}
	if n, err := ParseSize(c.MaxMediaMemory); err != nil || n < 1<<20 || n > 64<<30 {
		bad("max_media_memory", "%q must be a size from 1MiB to 64GiB", c.MaxMediaMemory)
	} else if one, err := ParseSize(c.MaxMediaBytes); err == nil && n < one {
		bad("max_media_memory", "%q is less than max_media_bytes (%s): a file that large could never be fetched", c.MaxMediaMemory, c.MaxMediaBytes)
	}
	if n, err := ParseSize(c.MaxMediaBytes); err != nil || n < 1<<10 || n > 40<<20 {
		bad("max_media_bytes", "%q must be a size from 1KiB to 40MiB", c.MaxMediaBytes)
	}
	if d, err := time.ParseDuration(c.MediaTimeout); err != nil || d <= 0 || d > 5*time.Minute {
		bad("media_timeout", "%q must be a duration up to 5m", c.MediaTimeout)
	}
	for i, t := range c.APITokens {
		v, err := ResolveSecret(t)
		if err != nil {
			bad(fmt.Sprintf("api_tokens[%d]", i), "%v", err)
		} else if msg := weakSecret(v, 24); msg != "" {
			bad(fmt.Sprintf("api_tokens[%d]", i), "%s", msg)
		}
	}
	// The same secret under two names would make the access log's name
	// for a call a guess.
	seenToken := map[string]string{}
	for _, t := range c.APITokenList() {
		if v, err := ResolveSecret(t.Token); err == nil && v != "" {
			if other, ok := seenToken[v]; ok {
				bad("api tokens", "%s and %s are the same token: give each client its own", other, t.Name)
			}
			seenToken[v] = t.Name
		}
	}
	tokenNames := map[string]bool{}
	for i, t := range c.NamedAPITokens {
		key := fmt.Sprintf("api_token[%d]", i)
		switch {
		case !tokenName.MatchString(t.Name):
			bad(key+".name", "%q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", t.Name)
		case tokenNames[t.Name]:
			bad(key+".name", "%q is the name of another api_token", t.Name)
		}
		tokenNames[t.Name] = true
		if t.Token == "" {
			bad(key+".token", "is required (a value, env:NAME or file:PATH)")
		} else if v, err := ResolveSecret(t.Token); err != nil {
			bad(key+".token", "%v", err)
		} else if msg := weakSecret(v, 24); msg != "" {
			bad(key+".token", "%s", msg)
		}
		if _, err := parseExpiry(t.Expires); err != nil {
			bad(key+".expires", "%v", err)
		}
	}
	if c.ScimToken != "" {
		if v, err := ResolveSecret(c.ScimToken); err != nil {
			bad("scim_token", "%v", err)
		} else if msg := weakSecret(v, 24); msg != "" {
			bad("scim_token", "%s", msg)
		}
	}
	if d, err := time.ParseDuration(c.ConsentTTL); err != nil || d < time.Minute {
		bad("consent_ttl", "%q must be a duration of at least 1m (e.g. 168h)", c.ConsentTTL)
	}
	if c.PolicyDir != "" {
		if fi, err := os.Stat(c.PolicyDir); err != nil || !fi.IsDir() {
			bad("policy_dir", "%q must be a directory of policy YAML files", c.PolicyDir)
		}
	}
	roles := map[string]bool{}
	for i, r := range c.Roles {
		if !classNameRE.MatchString(r.Name) {
			bad(fmt.Sprintf("role[%d].name", i), "%q must match [a-z0-9_-]{1,64}", r.Name)
		}
		if roles[r.Name] {
			bad(fmt.Sprintf("role %q", r.Name), "is defined twice")
		}
		roles[r.Name] = true
	}
	names := map[string]bool{}
	for i := range c.Channels {
		ch := &c.Channels[i]
		field := fmt.Sprintf("channel[%d]", i)
		if ch.Name != "" {
			field = fmt.Sprintf("channel %q", ch.Name)
		}
		if !classNameRE.MatchString(ch.Name) {
			bad(field+".name", "%q must match [a-z0-9_-]{1,64}: it is the webhook path /hooks/NAME", ch.Name)
		}
		if names[ch.Name] {
			bad(field+".name", "is used by two channels")
		}
		names[ch.Name] = true
		if !slices.Contains(ChannelTypes, ch.Type) {
			bad(field+".type", "%q must be one of %s", ch.Type, strings.Join(ChannelTypes, ", "))
		}
		if ch.APIBaseURL != "" {
			if u, err := url.Parse(ch.APIBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad(field+".api_base_url", "%q must be an absolute http(s) URL", ch.APIBaseURL)
			}
		}
		for key, p := range ch.Secrets() {
			v, err := ResolveSecret(*p)
			if err != nil {
				bad(field+"."+key, "%v", err)
			} else if msg := weakSecret(v, chosenSecretMin[key]); v != "" && msg != "" {
				bad(field+"."+key, "%s", msg)
			}
		}
		if len(ch.SharedKeys) > 0 && ch.Type != "twilio" {
			bad(field+".shared_keys", "is for twilio channels (a Webhook Setting's SharedKey)")
		}
		for j, k := range ch.SharedKeys {
			key := fmt.Sprintf("%s.shared_keys[%d]", field, j)
			if v, err := ResolveSecret(k); err != nil {
				bad(key, "%v", err)
			} else if msg := weakSecret(v, 16); msg != "" {
				bad(key, "%s", msg)
			}
		}
		if ch.RetentionClass != "" && !seen[ch.RetentionClass] {
			bad(field+".retention_class", "%q is not a defined retention_class", ch.RetentionClass)
		}
	}
	return errors.Join(errs...)
}

// chosenSecretMin is the least length of the channel secrets the operator
// makes up rather than the provider issues: each is the only thing that
// authenticates a delivery (Telegram sends secret_token back as it was
// given; signal-cli's pushes carry push_token). Unset, they are the
// connector's to require or not.
var chosenSecretMin = map[string]int{"secret_token": 24, "push_token": 24}

// weakSecret says what is wrong with secret v, or "" if nothing is: fewer
// than minLen characters, or a value that is somebody's example rather
// than a secret (ASVS 13.3.1: no default or example secrets) — a word such
// as changeme, a template such as <your-token> or ${TOKEN}, one character
// repeated.
func weakSecret(v string, minLen int) string {
	if len(v) < minLen {
		return fmt.Sprintf("is %d characters; use at least %d random characters (openssl rand -hex %d)", len(v), minLen, minLen)
	}
	t := strings.ToLower(strings.TrimSpace(v))
	if t == "" {
		return ""
	}
	word := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, t)
	switch {
	case strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">"), strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}"),
		strings.HasPrefix(word, "your"), strings.HasPrefix(word, "replace"), strings.HasPrefix(word, "insert"),
		strings.Count(t, t[:1]) == len(t), slices.Contains(placeholderWords, word):
		return "looks like a placeholder, not a secret: put the real value here (or env:NAME, file:PATH)"
	}
	return ""
}

// placeholderWords are example secrets seen in documentation and
// configuration templates, with everything but letters and digits removed.
var placeholderWords = []string{"changeme", "changeit", "changethis", "secret", "password", "passw0rd", "example",
	"test", "token", "todo", "tbd", "fixme", "default", "placeholder", "none", "null", "admin", "123456", "12345678",
	"1234567890", "abc123", "qwerty", "letmein"}

// Resolved returns a copy of the channel with its secrets read. Call after
// Validate.
func (ch Channel) Resolved() (Channel, error) {
	for key, p := range ch.Secrets() {
		v, err := ResolveSecret(*p)
		if err != nil {
			return ch, fmt.Errorf("channel %q: %s: %w", ch.Name, key, err)
		}
		*p = v
	}
	keys := make([]string, len(ch.SharedKeys)) // not the caller's slice
	for i, k := range ch.SharedKeys {
		v, err := ResolveSecret(k)
		if err != nil {
			return ch, fmt.Errorf("channel %q: shared_keys[%d]: %w", ch.Name, i, err)
		}
		keys[i] = v
	}
	ch.SharedKeys = keys
	return ch, nil
}

// Retention is a parsed retention period.
type Retention struct {
	Years, Days int
	Permanent   bool
}

// ExpiresAfter returns when a record captured at t may be disposed of, and
// false for permanent retention.
func (r Retention) ExpiresAfter(t time.Time) (time.Time, bool) {
	if r.Permanent {
		return time.Time{}, false
	}
	return t.AddDate(r.Years, 0, r.Days), true
}

// ParseRetention reads "6y", "90d", "1y30d" or "permanent".
func ParseRetention(s string) (Retention, error) {
	var r Retention
	if s == "permanent" {
		r.Permanent = true
		return r, nil
	}
	rest := s
	for rest != "" {
		i := strings.IndexAny(rest, "yd")
		if i <= 0 {
			return r, fmt.Errorf("duration %q must be like 6y, 90d, 1y30d or permanent", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 || n > 1000 {
			return r, fmt.Errorf("duration %q must be like 6y, 90d, 1y30d or permanent", s)
		}
		if rest[i] == 'y' {
			r.Years += n
		} else {
			r.Days += n
		}
		rest = rest[i+1:]
	}
	if r.Years == 0 && r.Days == 0 {
		return r, fmt.Errorf("duration %q must be at least one day (records are kept for their retention period)", s)
	}
	return r, nil
}

// ParseSize reads byte sizes such as 4096, 64KiB, 64MiB, 1GiB.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q must be a number with an optional KiB, MiB or GiB suffix", s)
	}
	return n * mult, nil
}

// ResolveSecret reads a secret given as a literal value, env:NAME or
// file:PATH. A missing variable or file is an error, never an empty secret.
func ResolveSecret(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		s, ok := os.LookupEnv(name)
		if !ok || s == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return s, nil
	case strings.HasPrefix(v, "file:"):
		b, err := os.ReadFile(strings.TrimPrefix(v, "file:"))
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return v, nil
}

// Paths of what lives under the data directory.
func (c *Config) JournalDir() string  { return filepath.Join(c.DataDir, "journal") }
func (c *Config) LedgerDir() string   { return filepath.Join(c.DataDir, "log") }
func (c *Config) KeystoreDir() string { return filepath.Join(c.DataDir, "keys", "buckets") }
func (c *Config) BlobDir() string     { return filepath.Join(c.DataDir, "blobs") }
func (c *Config) IndexDir() string    { return filepath.Join(c.DataDir, "index") }
func (c *Config) QueueDir() string    { return filepath.Join(c.DataDir, "queue") }

// IntakeDir holds the deliveries serve acknowledged while it replayed the
// journal, until the gateway has stored them (ingest.Intake).
func (c *Config) IntakeDir() string { return filepath.Join(c.QueueDir(), "intake") }

// KEKPath is key_file, or the default inside the data directory.
func (c *Config) KEKPath() string {
	if c.KeyFile != "" {
		return c.KeyFile
	}
	return filepath.Join(c.DataDir, "keys", "kek.age")
}

// Retentions returns the parsed retention classes by name, the system class
// included. Call after Validate.
func (c *Config) Retentions() map[string]Retention {
	m := map[string]Retention{SystemClass: {Permanent: true}}
	for _, rc := range c.RetentionClasses {
		r, _ := ParseRetention(rc.Duration)
		m[rc.Name] = r
	}
	return m
}

// Durations returns the parsed checkpoint interval, batch delay and segment
// size. Call after Validate.
func (c *Config) Durations() (checkpointInterval, maxBatchDelay time.Duration, segmentSize int64) {
	checkpointInterval, _ = time.ParseDuration(c.CheckpointInterval)
	maxBatchDelay, _ = time.ParseDuration(c.MaxBatchDelay)
	segmentSize, _ = ParseSize(c.SegmentSize)
	return
}
