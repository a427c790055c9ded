package config

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefault_IsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("embedded defaults do not validate: %v", err)
	}
	if c.DataDir != "./onrecord-data" || c.Listen != "127.0.0.1:8080" || c.AdminListen != "127.0.0.1:9090" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoad_Precedence(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		env       map[string]string
		args      []string
		wantDir   string
		wantEvery int
		wantErr   string
	}{
		{name: "defaults", wantDir: "./onrecord-data", wantEvery: 1000},
		{name: "file", file: "testdata/full.toml", wantDir: "/var/lib/onrecord", wantEvery: 500},
		{name: "env over file", file: "testdata/full.toml", env: map[string]string{"ONRECORD_DATA_DIR": "/env", "ONRECORD_CHECKPOINT_EVERY": "7"}, wantDir: "/env", wantEvery: 7},
		{name: "flag over env", file: "testdata/full.toml", env: map[string]string{"ONRECORD_DATA_DIR": "/env"}, args: []string{"--data-dir", "/flag"}, wantDir: "/flag", wantEvery: 500},
		{name: "unknown file key", file: "testdata/unknown.toml", wantErr: "unknown keys data_dirr"},
		{name: "bad env number", env: map[string]string{"ONRECORD_CHECKPOINT_EVERY": "lots"}, wantErr: "ONRECORD_CHECKPOINT_EVERY"},
		{name: "invalid listen names field", args: []string{"--listen", "nope"}, wantErr: "listen: \"nope\" is not host:port"},
		{name: "checkpoint_every bound", args: []string{"--checkpoint-every", "5000"}, wantErr: "checkpoint_every"},
		{name: "same listeners", args: []string{"--admin-listen", "127.0.0.1:8080"}, wantErr: "admin_listen: must differ"},
		{name: "tls half", args: []string{"--tls-cert", "x.pem"}, wantErr: "tls_cert and tls_key must be set together"},
		{name: "body memory below one body", env: map[string]string{"ONRECORD_MAX_BODY_MEMORY": "8MiB"}, wantErr: "max_body_memory: \"8MiB\" is less than max_body_bytes"},
		{name: "media memory below one file", env: map[string]string{"ONRECORD_MAX_MEDIA_MEMORY": "10MiB"}, wantErr: "max_media_memory: \"10MiB\" is less than max_media_bytes"},
		{name: "body memory not a size", args: []string{"--max-body-memory", "lots"}, wantErr: "max_body_memory"},
		{name: "index priority", env: map[string]string{"ONRECORD_INDEX_PRIORITY": "low"}, wantErr: `index_priority: "low" must be idle or normal`},
		{name: "index priority normal", args: []string{"--index-priority", "normal"}, wantDir: "./onrecord-data", wantEvery: 1000},
		{name: "unknown default class", args: []string{"--default-retention-class", "forever"}, wantErr: "default_retention_class"},
		{name: "passphrase env missing", args: []string{"--key-passphrase", "env:ONRECORD_TEST_NOPE_XYZ"}, wantErr: "key_passphrase: environment variable ONRECORD_TEST_NOPE_XYZ is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			l := &Loader{Env: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}
			l.RegisterFlags(fs)
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", tt.file}, args...)
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			c, err := l.Load(fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.wantDir || c.CheckpointEvery != tt.wantEvery {
				t.Fatalf("data_dir=%q checkpoint_every=%d, want %q %d", c.DataDir, c.CheckpointEvery, tt.wantDir, tt.wantEvery)
			}
		})
	}
}

func TestParseRetention(t *testing.T) {
	tests := []struct {
		in      string
		want    Retention
		wantErr bool
	}{
		{"6y", Retention{Years: 6}, false},
		{"90d", Retention{Days: 90}, false},
		{"1y30d", Retention{Years: 1, Days: 30}, false},
		{"permanent", Retention{Permanent: true}, false},
		{"0d", Retention{}, true},
		{"", Retention{}, true},
		{"6 years", Retention{}, true},
		{"y", Retention{}, true},
		{"-1y", Retention{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRetention(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseRetention(%q) = %+v, %v", tt.in, got, err)
		}
	}
	r, _ := ParseRetention("1y")
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	if exp, ok := r.ExpiresAfter(day); !ok || !exp.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ExpiresAfter = %v %v", exp, ok)
	}
}

func TestResolveSecret(t *testing.T) {
	t.Setenv("ONRECORD_TEST_SECRET", "s3cr3t")
	if v, err := ResolveSecret("env:ONRECORD_TEST_SECRET"); err != nil || v != "s3cr3t" {
		t.Fatalf("env: %q %v", v, err)
	}
	if _, err := ResolveSecret("file:/nonexistent/x"); err == nil {
		t.Fatal("missing file gave no error")
	}
	if v, _ := ResolveSecret("literal"); v != "literal" {
		t.Fatal(v)
	}
}

func TestLoad_Channels(t *testing.T) {
	t.Setenv("ONRECORD_TEST_WA_SECRET", "wa-secret")
	t.Setenv("ONRECORD_TEST_TWILIO_SHARED_KEY", "sk-now-0123456789abcdef")
	l := &Loader{File: "testdata/channels.toml", Env: func(string) (string, bool) { return "", false }}
	c, err := l.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Channels) != 2 || c.Channels[0].Name != "wa" || c.PublicURL != "https://records.example.gov" {
		t.Fatalf("channels = %+v", c.Channels)
	}
	wa, err := c.Channels[0].Resolved()
	if err != nil || wa.AppSecret != "wa-secret" || c.Channels[0].AppSecret != "env:ONRECORD_TEST_WA_SECRET" {
		t.Fatalf("resolved = %+v, %v", wa, err)
	}
	sms, err := c.Channels[1].Resolved()
	if err != nil || sms.AuthToken != "twilio-secret" {
		t.Fatalf("file secret = %q, %v", sms.AuthToken, err)
	}
	if !slices.Equal(sms.SharedKeys, []string{"sk-now-0123456789abcdef", "sk-next-0123456789abcdef"}) ||
		c.Channels[1].SharedKeys[0] != "env:ONRECORD_TEST_TWILIO_SHARED_KEY" {
		t.Fatalf("shared_keys resolved %q, configured %q", sms.SharedKeys, c.Channels[1].SharedKeys)
	}

	l = &Loader{File: "testdata/channels_bad.toml", Env: func(string) (string, bool) { return "", false }}
	_, err = l.Load(nil)
	for _, want := range []string{
		`public_url: "records.example.gov" must be an absolute`,
		`channel "Bad Name".name`,
		`channel "Bad Name".type: "pager" must be one of`,
		`channel "wa".app_secret: environment variable ONRECORD_TEST_UNSET_SECRET is not set`,
		`channel "wa".api_base_url`,
		`channel "wa".shared_keys: is for twilio channels`,
		`channel "sms".shared_keys[0]: is 8 characters`,
		`channel "sms".shared_keys[1]: environment variable ONRECORD_TEST_UNSET_SECRET is not set`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoad_Governance(t *testing.T) {
	t.Setenv("ONRECORD_TEST_SCIM", "0123456789abcdef0123456789abcdef")
	noEnv := func(string) (string, bool) { return "", false }
	c, err := (&Loader{File: "testdata/governance.toml", Env: noEnv}).Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Organisation != "Harbor & Finch" || len(c.Roles) != 1 || c.Roles[0].CreateGroups[0] != "wa" || c.ConsentTTL != "72h" {
		t.Fatalf("governance = %+v", c)
	}
	_, err = (&Loader{File: "testdata/governance_bad.toml", Env: noEnv}).Load(nil)
	for _, want := range []string{"scim_token: is 5 characters", `consent_ttl: "soon"`, `policy_dir: "testdata/no-such-dir"`, `role "advisor": is defined twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoad_APITokens(t *testing.T) {
	t.Setenv("ONRECORD_TEST_EDISCOVERY_TOKEN", "ediscovery-0123456789abcdef")
	noEnv := func(string) (string, bool) { return "", false }
	c, err := (&Loader{File: "testdata/api_tokens.toml", Env: noEnv}).Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.APITokenList()
	want := []struct {
		name    string
		expires time.Time
	}{
		{"api_tokens[0]", time.Time{}},
		{"ediscovery", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"siem.prod-2", time.Date(2027, 1, 31, 16, 0, 0, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("tokens = %+v", got)
	}
	for i, w := range want {
		if got[i].Name != w.name || !got[i].ExpiresAt().Equal(w.expires) {
			t.Errorf("token %d = %s expiring %v, want %s expiring %v", i, got[i].Name, got[i].ExpiresAt(), w.name, w.expires)
		}
	}
	if v, err := ResolveSecret(got[1].Token); err != nil || v != "ediscovery-0123456789abcdef" {
		t.Errorf("ediscovery's token resolves to %q, %v", v, err)
	}

	_, err = (&Loader{File: "testdata/api_tokens_bad.toml", Env: noEnv}).Load(nil)
	for _, want := range []string{
		`api_token[0].name: "has space" must be`,
		`api_token[2].name: "twice" is the name of another api_token`,
		"api_token[3].token: is required",
		"api_token[4].token: is 5 characters",
		`api_token[5].expires: "next tuesday" is neither`,
		"api tokens: api_tokens[0] and copy are the same token",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWeakSecret(t *testing.T) {
	for _, tc := range []struct {
		v    string
		min  int
		weak bool
	}{
		{"4f3c9a1e0b7d2c6e8a5f1b3d9c7e2a4f", 24, false},
		{"xoxb-1234567890-abcdefghijkl", 0, false},
		{"7352001234:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0", 0, false},
		{"wa-secret", 0, false},               // short, but a provider-issued secret has no minimum here
		{"0123456789abcdef0123456", 24, true}, // 23 characters
		{"", 24, true},
		{"changeme", 0, true},
		{"Change-Me", 0, true},
		{"CHANGE_ME", 0, true},
		{"secret", 0, true},
		{"password", 0, true},
		{"<your-app-secret>", 0, true},
		{"${TG_SECRET}", 0, true},
		{"your_signing_secret_here", 0, true},
		{"REPLACE-WITH-THE-TOKEN", 0, true},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 24, true},
		{"000000000000000000000000", 24, true},
		{"  secret  ", 0, true},
	} {
		if got := weakSecret(tc.v, tc.min) != ""; got != tc.weak {
			t.Errorf("weakSecret(%q, %d) = %q, want weak %v", tc.v, tc.min, weakSecret(tc.v, tc.min), tc.weak)
		}
	}
}

// TestValidate_RefusesWeakSecrets: serve does not start with a delivery
// token the operator made up that is short, or with any secret that is a
// placeholder, and says which field.
func TestValidate_RefusesWeakSecrets(t *testing.T) {
	c := Default()
	c.APITokens = []string{"<paste-your-api-token-here>"}
	c.Channels = []Channel{
		{Name: "tg", Type: "telegram", BotToken: "7352001234:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0", SecretToken: "tg-secret"},
		{Name: "wa", Type: "whatsapp", AppSecret: "changeme", VerifyToken: "hello-meta", AccessToken: "EAAG" + strings.Repeat("z9", 40)},
		{Name: "sig", Type: "signal", RPCURL: "http://127.0.0.1:7583/api/v1/rpc", Account: "+15550001111", PushToken: strings.Repeat("ab", 12)},
	}
	err := c.Validate()
	for _, want := range []string{
		"api_tokens[0]: looks like a placeholder",
		`channel "tg".secret_token: is 9 characters; use at least 24`,
		`channel "wa".app_secret: looks like a placeholder`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, fine := range []string{"verify_token", "access_token", "bot_token", `"sig".push_token`} {
		if err != nil && strings.Contains(err.Error(), fine) {
			t.Errorf("a good %s refused:\n%v", fine, err)
		}
	}
}

// TestLoad_PlainHTTPOnlyOnLoopback: a public listener other machines can
// reach needs TLS, or the operator's word that a TLS-terminating proxy is
// the only way in.
func TestLoad_PlainHTTPOnlyOnLoopback(t *testing.T) {
	const refused = "over plain HTTP"
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{args: []string{"--listen", "127.0.0.1:8080"}},
		{args: []string{"--listen", "[::1]:8080"}},
		{args: []string{"--listen", "localhost:8080"}},
		{args: []string{"--listen", "0.0.0.0:8080"}, wantErr: refused},
		{args: []string{"--listen", ":8080"}, wantErr: refused},
		{args: []string{"--listen", "[::]:8080"}, wantErr: refused},
		{args: []string{"--listen", "10.1.2.3:8080"}, wantErr: refused},
		{args: []string{"--listen", "records.internal:8080"}, wantErr: refused},
		{args: []string{"--listen", "0.0.0.0:8080", "--behind-tls-proxy", "true"}},
		{args: []string{"--listen", "0.0.0.0:8080"}, env: map[string]string{"ONRECORD_BEHIND_TLS_PROXY": "true"}},
		{args: []string{"--listen", "0.0.0.0:8080"}, env: map[string]string{"ONRECORD_BEHIND_TLS_PROXY": "maybe"}, wantErr: "behind_tls_proxy must be true or false"},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		l := &Loader{Env: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
		l.RegisterFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, err := l.Load(fs)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v %v: err %v, want one containing %q", tc.args, tc.env, err, tc.wantErr)
		}
	}
}
