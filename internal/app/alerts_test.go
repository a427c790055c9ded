package app

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// alertRules is the shape of a Prometheus rule file, as much of it as
// deploy/prometheus/onrecord-alerts.yml uses; decoding refuses other keys,
// so a misspelt one ("anotations") is an error here rather than a rule
// Prometheus loads without its text.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var metricName = regexp.MustCompile(`\bonrecord_[a-z0-9_]+`)

// TestAlertRules_NameMetricsTheServerHas reads the shipped alerting rules
// and checks that every onrecord_* series they query is one the server
// registers (a renamed metric would otherwise leave its alert silently
// never firing), and that every rule is complete: a severity the file
// documents, a summary and a description, a duration Prometheus reads.
func TestAlertRules_NameMetricsTheServerHas(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "onrecord-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var rules alertRules
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("onrecord-alerts.yml: %v", err)
	}
	a, _ := apiTestApp(t)
	registered := func(name string) bool {
		// Registering a collector under a name the registry has fails,
		// whatever its labels; a name it does not have is taken, and
		// given back.
		probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})
		if err := a.registry.Register(probe); err != nil {
			return true
		}
		a.registry.Unregister(probe)
		return false
	}
	if !registered("onrecord_webhooks_total") || registered("onrecord_no_such_metric") {
		t.Fatal("the registry probe does not tell registered names from others")
	}

	seen := map[string]bool{}
	queried := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Alert == "" || seen[r.Alert]:
				t.Errorf("group %s: a rule without a name or a second %q", g.Name, r.Alert)
			case strings.TrimSpace(r.Expr) == "":
				t.Errorf("%s: no expr", r.Alert)
			case r.Labels["severity"] != "critical" && r.Labels["severity"] != "warning":
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, r.Labels["severity"])
			case strings.TrimSpace(r.Annotations["summary"]) == "" || strings.TrimSpace(r.Annotations["description"]) == "":
				t.Errorf("%s: summary or description missing", r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if !balanced(r.Expr) {
				t.Errorf("%s: unbalanced brackets in %q", r.Alert, r.Expr)
			}
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				queried[name] = true
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if s, ok := strings.CutSuffix(name, suffix); ok && !registered(name) {
						base = s
					}
				}
				if !registered(base) {
					t.Errorf("%s queries %s, which the server does not register", r.Alert, name)
				}
			}
		}
	}
	if len(seen) < 10 || len(queried) < 10 {
		t.Errorf("%d rules over %d onrecord metrics: the file did not decode as rules", len(seen), len(queried))
	}
}

// balanced says whether every (, [ and { in s is closed in order, outside
// double-quoted strings.
func balanced(s string) bool {
	var open []rune
	quoted := false
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(' || c == '[' || c == '{':
			open = append(open, c)
		case c == ')' || c == ']' || c == '}':
			want := map[rune]rune{')': '(', ']': '[', '}': '{'}[c]
			if len(open) == 0 || open[len(open)-1] != want {
				return false
			}
			open = open[:len(open)-1]
		}
	}
	return len(open) == 0 && !quoted
}
