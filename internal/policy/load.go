package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"go.yaml.in/yaml/v3"

	"github.com/onrecord/onrecord/internal/policy/detect"
)

// File is one policy file as read: its name and full text, which is what
// gets recorded when the active set changes.
type File struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Set is a validated, compiled set of policies: every file of a policy
// directory.
type Set struct {
	// Version is a hash of every file's name and text.
	Version  string
	Files    []File
	rules    []*rule
	lexicons []*detect.Compiled
	// scanner runs the built-in detectors and every lexicon at once.
	scanner *detect.Scanner
	// adapter is the CEL environment's, to hand conditions values.
	adapter types.Adapter
}

// document is one policy file.
type document struct {
	Policy      string               `yaml:"policy"`
	Description string               `yaml:"description"`
	Lexicons    []detect.LexiconSpec `yaml:"lexicons"`
	Rules       []Rule               `yaml:"rules"`
}

// Rule is one rule as written.
type Rule struct {
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	// When is a CEL expression over event, sender, recipients, contact,
	// channel, direction, now and findings; it must evaluate to a bool.
	When   string `yaml:"when"`
	Action Action `yaml:"action"`
	// Detectors limits which findings the rule reports and, for redact,
	// removes: "payment_card", "lexicon", "lexicon:NAME" (default: all).
	Detectors []string `yaml:"detectors"`
	// Message is shown to the sender when the rule blocks, warns or holds.
	Message string `yaml:"message"`
}

type rule struct {
	Rule
	policy string
	ast    *cel.Ast
	// prg evaluates the condition under the runtime cost limit; fast,
	// when the static estimate proves the limit unreachable within the
	// input bounds (cost.go), evaluates it without tracking.
	prg  cel.Program
	fast cel.Program
	// vars are the variables the condition reads.
	vars vars
	// needs are what the condition needs among the findings to be true
	// at all (needs.go).
	needs []need
}

func (r *rule) wants(f detect.Finding) bool {
	if len(r.Detectors) == 0 {
		return true
	}
	for _, d := range r.Detectors {
		if d == f.Detector || f.Detector == detect.Lexicon && d == "lexicon:"+f.Lexicon {
			return true
		}
	}
	return false
}

// LoadDir reads and compiles every *.yaml and *.yml file in dir. Any
// error (YAML, unknown field, CEL, unknown action or detector) refuses the
// whole set, naming the file and line.
//
// The files are read through an os.Root on dir, so a symbolic link in it
// that leads outside dir is an error rather than a policy read from
// wherever it points, and a link swapped in during the walk cannot lead it
// out either.
func LoadDir(dir string) (*Set, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("policy_dir %s: %w", dir, err)
	}
	defer root.Close()
	fsys := root.FS()
	var files []File
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: p, Text: string(b)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy_dir %s: %w", dir, err)
	}
	return Compile(files)
}

// Compile validates and compiles policy files.
func Compile(files []File) (*Set, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("policy: CEL environment: %w", err)
	}
	s := &Set{Files: files}
	h := sha256.New()
	var errs []error
	lexicons := map[string]string{} // name → file
	ruleIDs := map[string]string{}
	type lexRef struct{ at, name string }
	var pending []lexRef
	for _, f := range files {
		fmt.Fprintf(h, "%d:%s\n%d:%s\n", len(f.Name), f.Name, len(f.Text), f.Text)
		var root yaml.Node
		dec := yaml.NewDecoder(strings.NewReader(f.Text))
		if err := dec.Decode(&root); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
			continue
		}
		var doc document
		strict := yaml.NewDecoder(bytes.NewReader([]byte(f.Text)))
		strict.KnownFields(true)
		if err := strict.Decode(&doc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
			continue
		}
		if doc.Policy == "" {
			errs = append(errs, fmt.Errorf("%s:1: policy: a name is required (policy: NAME)", f.Name))
			continue
		}
		lines := ruleLines(&root)
		for _, l := range doc.Lexicons {
			c, err := detect.Compile(l)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
				continue
			}
			if prev, ok := lexicons[l.Name]; ok {
				errs = append(errs, fmt.Errorf("%s: lexicon %q is also defined in %s", f.Name, l.Name, prev))
				continue
			}
			lexicons[l.Name] = f.Name
			s.lexicons = append(s.lexicons, c)
		}
		for i, r := range doc.Rules {
			at := fmt.Sprintf("%s:%d: rule %q", f.Name, lineOf(lines, i), r.ID)
			if r.ID == "" {
				errs = append(errs, fmt.Errorf("%s: id is required", at))
				continue
			}
			key := doc.Policy + "/" + r.ID
			if prev, ok := ruleIDs[key]; ok {
				errs = append(errs, fmt.Errorf("%s: %s is also defined in %s", at, key, prev))
				continue
			}
			ruleIDs[key] = f.Name
			if !r.Action.Valid() {
				errs = append(errs, fmt.Errorf("%s: action %q is not one of allow, block, redact, warn, flag, require_approval", at, r.Action))
				continue
			}
			if strings.TrimSpace(r.When) == "" {
				errs = append(errs, fmt.Errorf("%s: when is required (a CEL expression, e.g. 'true')", at))
				continue
			}
			ast, iss := e.Compile(r.When)
			if iss.Err() != nil {
				errs = append(errs, fmt.Errorf("%s: when: %s", at, strings.ReplaceAll(iss.Err().Error(), "\n", " ")))
				continue
			}
			if !ast.OutputType().IsExactType(cel.BoolType) && !ast.OutputType().IsExactType(cel.DynType) {
				errs = append(errs, fmt.Errorf("%s: when must be a condition (bool), not %s", at, ast.OutputType()))
				continue
			}
			prg, err := e.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(costLimit))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: when: %w", at, err))
				continue
			}
			for _, d := range r.Detectors {
				name, lex, isLex := strings.Cut(d, ":")
				if !(slices.Contains(detect.Builtin, d) || name == detect.Lexicon) {
					errs = append(errs, fmt.Errorf("%s: detector %q is not one of %s, lexicon, lexicon:NAME", at, d, strings.Join(detect.Builtin, ", ")))
				}
				if isLex {
					pending = append(pending, lexRef{at, lex})
				}
			}
			s.rules = append(s.rules, &rule{Rule: r, policy: doc.Policy, ast: ast, prg: prg,
				vars: referenced(ast.NativeRep().Expr()), needs: findingNeeds(ast.NativeRep().Expr())})
		}
	}
	for _, p := range pending {
		if _, ok := lexicons[p.name]; !ok {
			errs = append(errs, fmt.Errorf("%s: no lexicon named %q", p.at, p.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	est := sizeEstimator{findingText: findingTextBound(s.lexicons)}
	for _, r := range s.rules {
		// A rule without a bounded estimate keeps the tracked program
		// only; that is slower, never different.
		if c, err := e.EstimateCost(r.ast, est); err == nil && c.Max <= costLimit {
			if prg, err := e.Program(r.ast, cel.EvalOptions(cel.OptOptimize)); err == nil {
				r.fast = prg
			}
		}
		r.ast = nil
	}
	sc, err := detect.NewScanner(detect.Options{Lexicons: s.lexicons})
	if err != nil {
		return nil, err
	}
	s.scanner = sc
	s.adapter = e.CELTypeAdapter()
	s.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return s, nil
}

// ruleLines finds the line of each item of the top-level "rules" list.
func ruleLines(root *yaml.Node) []int {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "rules" && root.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, n := range root.Content[i+1].Content {
				out = append(out, n.Line)
			}
			return out
		}
	}
	return nil
}

func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// Rules returns the rules in evaluation order, as written.
func (s *Set) Rules() []Rule {
	out := make([]Rule, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.Rule
	}
	return out
}
