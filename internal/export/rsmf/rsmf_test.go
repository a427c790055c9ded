package rsmf

import (
	"bytes"
	"encoding/json"
	"flag"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestWrite_MatchesGoldenFiles(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			items, opts := mustLoad(t, name)
			dir, files := mustWrite(t, items, opts)
			goldenDir := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.RemoveAll(goldenDir); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for _, f := range files {
				got := mustParse(t, filepath.Join(dir, filepath.FromSlash(f.Path))).dump()
				golden := filepath.Join(goldenDir, path.Base(f.Path)+".golden")
				want = append(want, filepath.Base(golden))
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				b, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if string(b) != got {
					t.Errorf("%s differs from %s (run go test -update after checking the change):\n%s", f.Path, golden, firstDiff(string(b), got))
				}
			}
			entries, err := os.ReadDir(goldenDir)
			if err != nil {
				t.Fatal(err)
			}
			var have []string
			for _, e := range entries {
				have = append(have, e.Name())
			}
			slices.Sort(want)
			if !slices.Equal(have, want) {
				t.Errorf("golden files %v, written files %v", have, want)
			}
		})
	}
}

// firstDiff shows where two texts part, enough to see what changed.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n  want: " + a + "\n  got:  " + b
		}
	}
	return ""
}

// TestWrite_ManifestsMatchTheRSMFSchema checks every manifest against
// Relativity's schema, then what the schema cannot say but Relativity's
// validator checks: every reference resolves, every attachment is in the
// zip and every file in the zip is referenced.
func TestWrite_ManifestsMatchTheRSMFSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat() // timestamps must be real RFC 3339 date-times
	schema, err := c.Compile(filepath.Join("testdata", "rsmf_schema_2_0_0.json"))
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			items, opts := mustLoad(t, name)
			for _, split := range []string{SplitDay, SplitNone} {
				opts.SplitBy = split
				dir, files := mustWrite(t, items, opts)
				for _, f := range files {
					p := mustParse(t, filepath.Join(dir, filepath.FromSlash(f.Path)))
					inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.json))
					if err != nil {
						t.Fatalf("%s: %v", f.Path, err)
					}
					if err := schema.Validate(inst); err != nil {
						t.Errorf("%s (split %s) does not match the RSMF 2.0 schema: %v", f.Path, split, err)
					}
					checkReferences(t, f.Path, p)
				}
			}
		})
	}
}

func checkReferences(t *testing.T, name string, p *parsed) {
	t.Helper()
	m := p.manifest
	people := map[string]bool{}
	for _, pt := range m.Participants {
		if people[pt.ID] {
			t.Errorf("%s: participant %q declared twice", name, pt.ID)
		}
		people[pt.ID] = true
	}
	person := func(what, id string) {
		if id != "" && !people[id] {
			t.Errorf("%s: %s names participant %q, who is not declared", name, what, id)
		}
	}
	convs := map[string]bool{}
	for _, c := range m.Conversations {
		convs[c.ID] = true
		for _, id := range c.Participants {
			person("conversation "+c.ID, id)
		}
		person("custodian of "+c.ID, c.Custodian)
	}
	ids := map[string]bool{}
	for _, e := range m.Events {
		if e.ID != "" {
			if ids[e.ID] {
				t.Errorf("%s: event id %q used twice", name, e.ID)
			}
			ids[e.ID] = true
		}
	}
	referenced := map[string]bool{manifestName: true}
	for _, e := range m.Events {
		if !convs[e.Conversation] {
			t.Errorf("%s: event %s is in conversation %q, which is not declared", name, e.ID, e.Conversation)
		}
		if e.Parent != "" && !ids[e.Parent] {
			t.Errorf("%s: event %s has parent %q, not in this manifest", name, e.ID, e.Parent)
		}
		person("event "+e.ID, e.Participant)
		for _, x := range e.Edits {
			person("an edit of "+e.ID, x.Participant)
		}
		for _, x := range e.ReadReceipts {
			person("a receipt for "+e.ID, x.Participant)
		}
		for _, r := range e.Reactions {
			for _, id := range r.Participants {
				person("a reaction to "+e.ID, id)
			}
			if r.Count < len(r.Participants) || r.Count < 1 {
				t.Errorf("%s: reaction %q to %s counts %d for %d participants", name, r.Value, e.ID, r.Count, len(r.Participants))
			}
		}
		for _, a := range e.Attachments {
			data, ok := p.files[a.ID]
			if !ok {
				t.Errorf("%s: attachment %q of %s is not in rsmf.zip", name, a.ID, e.ID)
			}
			if int64(len(data)) != a.Size {
				t.Errorf("%s: attachment %q is %d bytes, manifest says %d", name, a.ID, len(data), a.Size)
			}
			referenced[a.ID] = true
		}
	}
	for f := range p.files {
		if !referenced[f] {
			t.Errorf("%s: rsmf.zip holds %s, which the manifest does not reference", name, f)
		}
	}
	if got, want := p.header.Get("X-RSMF-EventCount"), itoa(len(m.Events)); got != want {
		t.Errorf("%s: X-RSMF-EventCount %s, manifest has %s events", name, got, want)
	}
	if got, want := p.header.Get("X-RSMF-AttachmentCount"), itoa(len(p.files)-1); got != want {
		t.Errorf("%s: X-RSMF-AttachmentCount %s, zip has %s attachments", name, got, want)
	}
}

// TestWrite_ExpressesEditsDeletesReactionsAndAttachments reads a file back
// and checks each change to a message is where RSMF puts it.
func TestWrite_ExpressesEditsDeletesReactionsAndAttachments(t *testing.T) {
	items, opts := mustLoad(t, "whatsapp")
	dir, files := mustWrite(t, items, opts)
	if len(files) != 2 {
		t.Fatalf("wrote %d files, want one per day: %v", len(files), files)
	}
	p := mustParse(t, filepath.Join(dir, filepath.FromSlash(files[0].Path)))
	byName := map[uint64]*onrecord.Event{}
	for _, it := range items {
		byName[it.Seq] = it.Event
	}

	if got := p.header.Get("X-RSMF-Version"); got != "2.0.0" {
		t.Errorf("X-RSMF-Version %q", got)
	}
	from, err := p.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Jane Doe" {
		t.Errorf("From %v (%v), want the first message's sender", from, err)
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 2 {
		t.Errorf("To %v (%v), want both participants", to, err)
	}

	// Edits: the body is the text first sent; each edit says what it
	// replaced, including one made the next day.
	a1 := p.event(t, 101)
	if a1.Body != "Hi, is my order ready? 📦" || len(a1.Edits) != 1 ||
		a1.Edits[0].Previous != a1.Body || a1.Edits[0].New != "Hi, is my order #42 ready? 📦" ||
		a1.Edits[0].Participant != "447700900123" || a1.Edits[0].Timestamp != "2024-05-02T08:30:00Z" {
		t.Errorf("wamid.A1: body %q edits %+v", a1.Body, a1.Edits)
	}
	if customValue(a1.Custom, "edit.1.seq") != "113" || customValue(a1.Custom, "edit.1.bates") != "ACME-000113" {
		t.Errorf("the edit record of wamid.A1 is not named: %+v", a1.Custom)
	}
	a2 := p.event(t, 108)
	if len(a2.Edits) != 1 || a2.Edits[0].Previous != "Thanks, see you tmrw" || a2.Edits[0].New != "Thanks, see you tomorrow" {
		t.Errorf("wamid.A2 edits %+v", a2.Edits)
	}

	// Delete: the message stays, marked deleted; its attachment is there
	// byte for byte; the one that could not be fetched is named with why.
	a3 := p.event(t, 110)
	if !a3.Deleted || customValue(a3.Custom, "delete.1.seq") != "111" {
		t.Errorf("wamid.A3 deleted=%v custom %+v", a3.Deleted, a3.Custom)
	}
	if len(a3.Attachments) != 1 || a3.Attachments[0].Display != "photo.png" {
		t.Fatalf("wamid.A3 attachments %+v", a3.Attachments)
	}
	if got := p.files[a3.Attachments[0].ID]; !bytes.Equal(got, byName[110].Attachments[0].Data) {
		t.Errorf("photo.png in the zip is %d bytes, not the %d captured", len(got), len(byName[110].Attachments[0].Data))
	}
	if got := customValue(a3.Custom, "attachment.2.error"); !strings.Contains(got, "voice.ogg") || !strings.Contains(got, "expired") {
		t.Errorf("the unfetched voice.ogg is not named with its error: %q", got)
	}

	// Reactions: 👍, removed, then ❤️: the state at the end is ❤️ alone.
	b1 := p.event(t, 102)
	if len(b1.Reactions) != 1 || b1.Reactions[0].Value != "❤️" || b1.Reactions[0].Count != 1 ||
		!slices.Equal(b1.Reactions[0].Participants, []string{"447700900123"}) {
		t.Errorf("wamid.B1 reactions %+v", b1.Reactions)
	}
	for i, seq := range []string{"105", "106", "107"} {
		if got := customValue(b1.Custom, "reaction."+itoa(i+1)+".seq"); got != seq {
			t.Errorf("reaction.%d.seq = %q, want %s", i+1, got, seq)
		}
	}
	if len(b1.ReadReceipts) != 2 || b1.ReadReceipts[0].Action != "delivered" || b1.ReadReceipts[1].Action != "read" ||
		b1.ReadReceipts[1].Participant != "447700900123" {
		t.Errorf("wamid.B1 read receipts %+v", b1.ReadReceipts)
	}
	if b1.Parent != a1.ID {
		t.Errorf("wamid.B1 answers wamid.A1 but its parent is %q", b1.Parent)
	}
	if got := p.files[b1.Attachments[0].ID]; !bytes.Equal(got, byName[102].Attachments[0].Data) {
		t.Errorf("invoice.pdf differs from what was captured")
	}
	if b1.Direction != "outgoing" || a1.Direction != "incoming" {
		t.Errorf("directions %q %q", b1.Direction, a1.Direction)
	}

	// The edit made on day 2 is carried by day 1's file, with its original.
	if !slices.Contains(files[0].Items, 113) || slices.Contains(files[1].Items, 113) {
		t.Errorf("seq 113 (an edit of a day-1 message) is carried by %v / %v", files[0].Items, files[1].Items)
	}
	// The summary a platform indexes says it all too.
	for _, want := range []string{"edited by Jane Doe (447700900123): Thanks, see you tomorrow", "deleted by Jane Doe", "reaction ❤️ by Jane Doe", "attachment: photo.png"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("summary lacks %q:\n%s", want, p.text)
		}
	}

	// A failed status is kept, though RSMF has no receipt for it.
	p2 := mustParse(t, filepath.Join(dir, filepath.FromSlash(files[1].Path)))
	b2 := p2.event(t, 112)
	if !strings.Contains(customValue(b2.Custom, "status.1.error"), "131047") || len(b2.ReadReceipts) != 0 {
		t.Errorf("wamid.B2 custom %+v receipts %+v", b2.Custom, b2.ReadReceipts)
	}
}

func TestWrite_SplitsByDay(t *testing.T) {
	items, opts := mustLoad(t, "slack")
	tests := []struct {
		split string
		loc   *time.Location
		want  []string
	}{
		{SplitDay, nil, []string{"rsmf/slack-eng_C0ENG_2024-05-01.rsmf", "rsmf/slack-eng_C0ENG_2024-05-02.rsmf"}},
		{"", nil, []string{"rsmf/slack-eng_C0ENG_2024-05-01.rsmf", "rsmf/slack-eng_C0ENG_2024-05-02.rsmf"}},
		// 14:00 UTC on 1 May is midnight on 2 May in Brisbane: one day there.
		{SplitDay, time.FixedZone("AEST", 10*3600), []string{"rsmf/slack-eng_C0ENG_2024-05-02.rsmf"}},
		{SplitNone, nil, []string{"rsmf/slack-eng_C0ENG.rsmf"}},
	}
	for _, tt := range tests {
		t.Run(tt.split, func(t *testing.T) {
			opts.SplitBy, opts.Location = tt.split, tt.loc
			dir, files := mustWrite(t, items, opts)
			var got []string
			for _, f := range files {
				got = append(got, f.Path)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("files %v, want %v", got, tt.want)
			}
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			collection := ""
			for _, f := range files {
				p := mustParse(t, filepath.Join(dir, filepath.FromSlash(f.Path)))
				day := strings.TrimSuffix(strings.TrimPrefix(path.Base(f.Path), "slack-eng_C0ENG_"), ".rsmf")
				for _, e := range p.manifest.Events {
					ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
					if err != nil {
						t.Fatal(err)
					}
					if tt.split != SplitNone && ts.In(loc).Format(time.DateOnly) != day {
						t.Errorf("%s holds an event of %s", f.Path, ts.In(loc))
					}
				}
				if collection == "" {
					collection = p.manifest.EventCollectionID
				}
				if p.manifest.EventCollectionID != collection || p.header.Get("X-RSMF-EventCollectionID") != collection {
					t.Errorf("%s: event collection %q, want %q for every slice", f.Path, p.manifest.EventCollectionID, collection)
				}
			}
		})
	}
}

func TestWrite_SplitsWhenAttachmentsPassMaxBytes(t *testing.T) {
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	var items []export.Item
	for i := range 5 {
		items = append(items, export.Item{Seq: uint64(i + 1), Event: &onrecord.Event{
			Channel: "sms", Kind: onrecord.KindMessage, ProviderID: "m" + itoa(i), Conversation: "+15550001",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+15550001"}, SentAt: at.Add(time.Duration(i) * time.Minute),
			Attachments: []onrecord.Attachment{{Name: "a.bin", Data: bytes.Repeat([]byte{byte(i)}, 400)}},
		}})
	}
	// A reaction's place is with its message, whichever part that is in.
	items = append(items, export.Item{Seq: 6, Event: &onrecord.Event{Channel: "sms", Kind: onrecord.KindReaction,
		ProviderID: "r", Conversation: "+15550001", Sender: onrecord.Party{ID: "+15550002"}, SentAt: at.Add(time.Hour),
		Target: "m0", Emoji: "👍", Direction: onrecord.Outbound}})
	_, files := mustWrite(t, items, Options{MaxBytes: 1000, Now: func() time.Time { return exportedAt }})
	var got [][]uint64
	var names []string
	for _, f := range files {
		got = append(got, f.Items)
		names = append(names, path.Base(f.Path))
	}
	want := [][]uint64{{1, 2, 6}, {3, 4}, {5}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("parts carry %v, want %v", got, want)
	}
	if !slices.Equal(names, []string{"sms_+15550001_2024-05-01_part1.rsmf", "sms_+15550001_2024-05-01_part2.rsmf", "sms_+15550001_2024-05-01_part3.rsmf"}) {
		t.Errorf("names %v", names)
	}

	// One message bigger than the limit gets a part of its own.
	_, files = mustWrite(t, items, Options{MaxBytes: 100, Now: func() time.Time { return exportedAt }})
	if len(files) != 5 {
		t.Errorf("%d parts, want one per message", len(files))
	}
}

func TestWrite_HostileNamesGiveSafeFileNames(t *testing.T) {
	items, opts := mustLoad(t, "hostile")
	dir, files := mustWrite(t, items, opts)
	if len(files) != 7 {
		t.Fatalf("%d files, want one per conversation", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimPrefix(f.Path, Dir+"/")
		if strings.ContainsAny(name, "/\\\x00\r\n :") || strings.HasPrefix(name, ".") || strings.Contains(name, "..") ||
			len(name) > 200 || !strings.HasSuffix(name, ".rsmf") {
			t.Errorf("unsafe file name %q", name)
		}
		if seen[strings.ToLower(name)] {
			t.Errorf("two conversations share %q (ignoring case)", name)
		}
		seen[strings.ToLower(name)] = true
		p := mustParse(t, filepath.Join(dir, filepath.FromSlash(f.Path)))
		for name := range p.files {
			if strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") {
				t.Errorf("unsafe name in rsmf.zip: %q", name)
			}
		}
		// No header of the sender's choosing, nor one as long as RFC 5322 forbids.
		if p.header.Get("Bcc") != "" || p.header.Get("X-Injected") != "" {
			t.Errorf("%s: injected header: %v", f.Path, p.header)
		}
		for _, l := range strings.Split(p.rawHead, "\r\n") {
			if len(l) > 998 {
				t.Errorf("%s: header line of %d bytes", f.Path, len(l))
			}
		}
	}
	// Nothing was written anywhere but the export directory.
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Dir(p) != filepath.Join(dir, Dir) {
			t.Errorf("file written outside %s: %s", Dir, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A group name shaped like an encoded-word is not decoded into
	// something else, and a display name is not either.
	p := mustParse(t, filepath.Join(dir, filepath.FromSlash(files[0].Path)))
	subj, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil || !strings.HasPrefix(subj, "Evil Bcc: victim@example.com (../../etc)") {
		t.Errorf("Subject %q (%v)", subj, err)
	}
}

// TestWrite_CarriesEveryItemOnce: whatever the kind, and whether or not the
// message it refers to is in the production, each record is in exactly one
// file and named in its manifest.
func TestWrite_CarriesEveryItemOnce(t *testing.T) {
	for _, name := range cases(t) {
		for _, split := range []string{SplitDay, SplitNone} {
			t.Run(name+"/"+split, func(t *testing.T) {
				items, opts := mustLoad(t, name)
				opts.SplitBy = split
				dir, files := mustWrite(t, items, opts)
				carried := map[uint64]string{}
				for _, f := range files {
					p := mustParse(t, filepath.Join(dir, filepath.FromSlash(f.Path)))
					named := seqsIn(p.manifest)
					slices.Sort(named)
					var listed []string
					for _, s := range f.Items {
						if prev, dup := carried[s]; dup {
							t.Errorf("seq %d is in %s and %s", s, prev, f.Path)
						}
						carried[s] = f.Path
						listed = append(listed, uitoa(s))
					}
					slices.Sort(listed)
					if !slices.Equal(named, listed) {
						t.Errorf("%s: manifest names seqs %v, File.Items %v", f.Path, named, listed)
					}
				}
				for _, it := range items {
					if _, ok := carried[it.Seq]; !ok {
						t.Errorf("seq %d (%s) is in no file", it.Seq, it.Event.Kind)
					}
				}
			})
		}
	}
}

func TestWrite_IsDeterministic(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			items, opts := mustLoad(t, name)
			dir1, files1 := mustWrite(t, items, opts)
			// Reversed input: the order items arrive in must not matter.
			rev := slices.Clone(items)
			slices.Reverse(rev)
			dir2, files2 := mustWrite(t, rev, opts)
			if len(files1) != len(files2) {
				t.Fatalf("%d files, then %d", len(files1), len(files2))
			}
			for i := range files1 {
				a, _ := os.ReadFile(filepath.Join(dir1, files1[i].Path))
				b, _ := os.ReadFile(filepath.Join(dir2, files2[i].Path))
				if files1[i].Path != files2[i].Path || !bytes.Equal(a, b) {
					t.Errorf("%s and %s differ", files1[i].Path, files2[i].Path)
				}
			}
		})
	}
}

func TestWrite_UsesCRLFThroughout(t *testing.T) {
	items, opts := mustLoad(t, "robust")
	dir, files := mustWrite(t, items, opts)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range b {
			if c == '\n' && (i == 0 || b[i-1] != '\r') {
				t.Fatalf("%s: bare LF at byte %d", f.Path, i)
			}
			if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
				t.Fatalf("%s: bare CR at byte %d", f.Path, i)
			}
			if c >= 0x80 || c == 0 {
				t.Fatalf("%s: byte %#x at %d: the message is not 7-bit", f.Path, c, i)
			}
		}
	}
}

// TestWrite_RobustToOddRecords covers what a connector may hand over:
// empty bodies, text that is not UTF-8, a message with no sender, unknown
// targets, kinds this package does not know.
func TestWrite_RobustToOddRecords(t *testing.T) {
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	ev := func(kind onrecord.EventKind, id string, mod func(*onrecord.Event)) *onrecord.Event {
		e := &onrecord.Event{Channel: "tele\xffgram", Kind: kind, ProviderID: id, Conversation: "-100\xfe42",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "u\xff1", Name: "Bad \xc3\x28 name"}, SentAt: at}
		if mod != nil {
			mod(e)
		}
		return e
	}
	items := []export.Item{
		{Seq: 1, Event: ev(onrecord.KindMessage, "m1", func(e *onrecord.Event) { e.Body = "bad \xff\xfe utf-8 \x00" })},
		{Seq: 2, Event: ev(onrecord.KindMessage, "", func(e *onrecord.Event) { e.Sender = onrecord.Party{} })},
		{Seq: 3, Event: ev(onrecord.KindEdit, "e1", func(e *onrecord.Event) { e.Target = "m1"; e.Body = "\xffedited" })},
		{Seq: 4, Event: ev("future-kind", "f1", func(e *onrecord.Event) { e.Body = "from a newer connector" })},
		{Seq: 5, Event: ev(onrecord.KindReaction, "r1", func(e *onrecord.Event) { e.Target = "m1"; e.Emoji = "\xff" })},
		{Seq: 6, Event: ev(onrecord.KindStatus, "s1", func(e *onrecord.Event) { e.Target = "nowhere"; e.Status = "read" })},
		{Seq: 7, Event: ev(onrecord.KindMessage, "m2", func(e *onrecord.Event) {
			e.Attachments = []onrecord.Attachment{{Name: "\xff.jpg", Data: []byte{1}}, {Name: "empty", Data: nil}}
		})},
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schema := c.MustCompile(filepath.Join("testdata", "rsmf_schema_2_0_0.json"))
	dir, files := mustWrite(t, items, Options{Now: func() time.Time { return exportedAt }})
	if len(files) != 1 || len(files[0].Items) != len(items) {
		t.Fatalf("files %+v", files)
	}
	p := mustParse(t, filepath.Join(dir, files[0].Path))
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.json))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("manifest does not match the schema: %v", err)
	}
	checkReferences(t, files[0].Path, p)
	if !json.Valid(p.json) {
		t.Error("manifest is not valid JSON")
	}
	if got := p.event(t, 4); got.Type != "unknown" || !strings.Contains(got.Body, "future-kind") {
		t.Errorf("unknown kind rendered as %+v", got)
	}
	if got := p.event(t, 7); len(got.Attachments) != 2 || got.Attachments[1].Size != 0 {
		t.Errorf("attachments %+v", got.Attachments)
	}
}

func TestWrite_RefusesWhatItCannotWrite(t *testing.T) {
	ok := &onrecord.Event{Channel: "c", Kind: onrecord.KindMessage, ProviderID: "p", Conversation: "v", SentAt: exportedAt}
	tests := []struct {
		name  string
		items []export.Item
		opts  Options
		want  string
	}{
		{"no event", []export.Item{{Seq: 1}}, Options{}, "seq 1 has no event"},
		{"seq twice", []export.Item{{Seq: 1, Event: ok}, {Seq: 1, Event: ok}}, Options{}, "seq 1 appears twice"},
		{"bad split", nil, Options{SplitBy: "week"}, `split "week"`},
		{"negative size", nil, Options{MaxBytes: -1}, "max bytes -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files, err := Write(dir, tt.items, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if len(files) != 0 {
				t.Errorf("files %v", files)
			}
		})
	}
}

func TestWrite_LeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should go makes the rename fail.
	if err := os.MkdirAll(filepath.Join(dir, Dir, "c_v_2024-06-01.rsmf", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	ev := &onrecord.Event{Channel: "c", Kind: onrecord.KindMessage, ProviderID: "p", Conversation: "v", SentAt: exportedAt}
	if _, err := Write(dir, []export.Item{{Seq: 1, Event: ev}}, Options{}); err == nil {
		t.Fatal("Write succeeded over a directory")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, Dir))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

// TestWrite_NeverOverwritesAnotherConversationsFile: a conversation whose id
// reads like another's name plus a part suffix still gets a file of its own.
func TestWrite_NeverOverwritesAnotherConversationsFile(t *testing.T) {
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	msg := func(seq uint64, conv string, size int) export.Item {
		return export.Item{Seq: seq, Event: &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage,
			ProviderID: "m" + uitoa(seq), Conversation: conv, Sender: onrecord.Party{ID: "+1"}, SentAt: at.Add(time.Duration(seq) * time.Second),
			Attachments: []onrecord.Attachment{{Name: "a", Data: make([]byte, size)}}}}
	}
	items := []export.Item{msg(1, "ab", 10), msg(2, "ab", 10), msg(3, "ab_part2", 1), msg(4, "AB_PART1", 1)}
	_, files := mustWrite(t, items, Options{SplitBy: SplitNone, MaxBytes: 10, Now: func() time.Time { return exportedAt }})
	if len(files) != 4 {
		t.Fatalf("%d files, want 4: %v", len(files), files)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[strings.ToLower(f.Path)] {
			t.Errorf("%s written twice", f.Path)
		}
		seen[strings.ToLower(f.Path)] = true
	}
}

// TestWrite_ParticipantIDsThatAreNotUTF8StillResolve: JSON cannot carry the
// bad bytes, so two such ids become one participant, not two with the same
// id, and every reference to them resolves.
func TestWrite_ParticipantIDsThatAreNotUTF8StillResolve(t *testing.T) {
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	items := []export.Item{
		{Seq: 1, Event: &onrecord.Event{Channel: "c", Kind: onrecord.KindMessage, ProviderID: "m", Conversation: "v",
			Sender: onrecord.Party{ID: "u\xff"}, Recipients: []onrecord.Party{{ID: "u\xfe"}}, SentAt: at}},
		{Seq: 2, Event: &onrecord.Event{Channel: "c", Kind: onrecord.KindReaction, ProviderID: "r", Conversation: "v",
			Sender: onrecord.Party{ID: "u\xfe"}, Target: "m", Emoji: "👍", SentAt: at}},
	}
	dir, files := mustWrite(t, items, Options{Custodian: "u\xff", Now: func() time.Time { return exportedAt }})
	p := mustParse(t, filepath.Join(dir, files[0].Path))
	checkReferences(t, files[0].Path, p)
	if len(p.manifest.Participants) != 1 || p.manifest.Conversations[0].Custodian != "u\uFFFD" {
		t.Errorf("participants %+v, custodian %q", p.manifest.Participants, p.manifest.Conversations[0].Custodian)
	}
}
