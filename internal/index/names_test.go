package index

import (
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

func TestNameText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Ana Lima", "\uE002Ana \uE002Lima"},
		{"O'Brien-Smith", "\uE002O'\uE002Brien-\uE002Smith"},
		{"Jose\u0301 2", "\uE002Jose\u0301 \uE0022"},
		{"  ", "  "},
		{"李小龍", "\uE002李小龍"},
		{"Ana\nBruno", "\uE002Ana\n\uE002Bruno"},
	} {
		if got := nameText(tc.in); got != tc.want {
			t.Errorf("nameText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Names and message text are told apart by nameMark, which message text
// cannot carry: a body that contains it does not pass for a name.
func TestSearch_NameWordsAreNotTextWords(t *testing.T) {
	ix := MustOpen(t, t.TempDir(), testKey(9))
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := func(id, sender, body string) Entry {
		return Entry{Seq: uint64(len(id)), Event: &onrecord.Event{ID: id, Channel: "sms", Kind: onrecord.KindMessage,
			ProviderID: id, Conversation: "c", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1555" + id, Name: sender},
			SentAt: at, Body: body}}
	}
	entries := []Entry{ev("a", "Boris Ivanov", "see you soon"), ev("bb", "Carla", "\uE002Boris said thanks boris")}
	if err := ix.AddBatch(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  []uint64
	}{
		{"boris", []uint64{2, 1}},
		{"from:boris", []uint64{1}},
		{`"thanks boris"`, []uint64{2}},
		{`"boris ivanov"`, []uint64{1}},
		{`"said thanks"`, []uint64{2}},
	} {
		res, err := ix.Search(t.Context(), mustParse(t, tc.query, nil), SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, h := range res.Hits {
			got = append(got, h.Seq)
			for _, f := range h.Snippet {
				for _, r := range f.Text {
					if r == 0xE002 {
						t.Errorf("%s: snippet %q shows the name mark", tc.query, f.Text)
					}
				}
			}
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || (len(got) > 1 && got[1] != tc.want[1]) {
			t.Errorf("%s: seqs %v, want %v", tc.query, got, tc.want)
		}
	}
}
