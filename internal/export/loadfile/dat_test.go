package loadfile

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"pgregory.net/rapid"
)

func TestDAT_RoundTripsAwkwardValues(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"empty", ""},
		{"plain", "hello"},
		{"thorn", "þ"},
		{"doubled thorn", "þþ"},
		{"thorn at edges", "þstartþ middle endþ"},
		{"field separator", "a\x14b\x14"},
		{"lf", "line 1\nline 2\n"},
		{"crlf", "line 1\r\nline 2"},
		{"cr", "line 1\rline 2"},
		{"registered sign", "Acme® Widget"},
		{"double quotes", `she said "hi", then ""bye""`},
		{"emoji", "👋🏽 héllo 🇩🇪 ZWJ 👩‍💻"},
		{"tabs and spaces", "\t lead and trail \t"},
		{"everything", "þ\x14\r\n®\"👍,;\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := []string{"A", "B þ", "C"}
			rows := [][]string{{tc.value, "x", tc.value}, {"", tc.value, ""}}
			var b bytes.Buffer
			if err := WriteDAT(&b, header, rows); err != nil {
				t.Fatal(err)
			}
			gotH, gotRows, err := ReadDAT(&b)
			if err != nil {
				t.Fatalf("ReadDAT: %v", err)
			}
			if !reflect.DeepEqual(gotH, header) {
				t.Errorf("header = %q", gotH)
			}
			want := [][]string{{Canonical(tc.value), "x", Canonical(tc.value)}, {"", Canonical(tc.value), ""}}
			if !reflect.DeepEqual(gotRows, want) {
				t.Errorf("rows = %q, want %q", gotRows, want)
			}
			if !strings.ContainsAny(tc.value, "\r®") && gotRows[0][0] != tc.value {
				t.Errorf("%q did not come back exactly: %q", tc.value, gotRows[0][0])
			}
		})
	}
}

func TestWriteDAT_QuotesEveryFieldAndMarksLineBreaks(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDAT(&b, []string{"A", "B"}, [][]string{{"x\ny", "þ"}}); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFþAþ\x14þBþ\r\nþx®yþ\x14þþþþ\r\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

func TestWriteDAT_Refuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{"short row", []string{"A", "B"}, [][]string{{"x"}}, "has 1 fields, the header 2"},
		{"invalid utf-8", []string{"A"}, [][]string{{"\xff"}}, "field A"},
		{"invalid utf-8 header", []string{"\xff"}, nil, "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteDAT(&bytes.Buffer{}, tc.header, tc.rows)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if err := WriteDAT(errWriter{}, []string{"A"}, nil); err == nil {
		t.Error("write error not returned")
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReadDAT_Accepts(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		header   []string
		rows     [][]string
	}{
		{"no BOM, LF records", "þAþ\x14þBþ\nþ1þ\x14þ2þ\n", []string{"A", "B"}, [][]string{{"1", "2"}}},
		{"no final line end", "þAþ\r\nþ1þ", []string{"A"}, [][]string{{"1"}}},
		{"header only", "\uFEFFþAþ\x14þBþ\r\n", []string{"A", "B"}, nil},
		{"bare fields", "A\x14B\r\n1\x14\r\n", []string{"A", "B"}, [][]string{{"1", ""}}},
		{"literal line break inside quotes", "þAþ\r\nþa\r\nbþ\r\n", []string{"A"}, [][]string{{"a\nb"}}},
		{"newline placeholder", "þAþ\r\nþa®b®®þ\r\n", []string{"A"}, [][]string{{"a\nb\n\n"}}},
		{"empty quoted fields", "þAþ\x14þBþ\r\nþþ\x14þþ\r\n", []string{"A", "B"}, [][]string{{"", ""}}},
		{"doubled thorn", "þAþ\r\nþxþþyþ\r\n", []string{"A"}, [][]string{{"xþy"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, rows, err := ReadDAT(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, tc.header) || !reflect.DeepEqual(rows, tc.rows) {
				t.Errorf("got %q %q, want %q %q", h, rows, tc.header, tc.rows)
			}
		})
	}
}

func TestReadDAT_Rejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"BOM only", "\uFEFF", "empty file"},
		{"unclosed quote", "þAþ\r\nþabc\r\n", "never closed"},
		{"text after closing quote", "þAþ\r\nþaþb\r\n", "should follow"},
		{"lone CR after field", "þAþ\rþbþ", "should follow"},
		{"thorn in bare field", "A\r\nxþy\r\n", "holds a þ"},
		{"too few fields", "þAþ\x14þBþ\r\nþ1þ\r\n", "record 2 has 1 fields, the header 2"},
		{"too many fields", "þAþ\r\nþ1þ\x14þ2þ\r\n", "record 2 has 2 fields"},
		{"blank line inside", "þAþ\x14þBþ\r\n\r\nþ1þ\x14þ2þ\r\n", "record 2 has 1 fields"},
		{"windows-1252", "\xfeA\xfe\r\n", "not UTF-8 at byte 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadDAT(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, _, err := ReadDAT(iotest.ErrReader(errors.New("boom"))); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("read error = %v", err)
	}
}

func TestDAT_RoundTripsAnyRows(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 5).Draw(t, "fields")
		cell := rapid.OneOf(rapid.String(), rapid.StringMatching("[þ\x14\r\n®a ]{0,12}"))
		header := rapid.SliceOfN(cell, n, n).Draw(t, "header")
		rows := rapid.SliceOfN(rapid.SliceOfN(cell, n, n), 0, 5).Draw(t, "rows")
		var b bytes.Buffer
		if err := WriteDAT(&b, header, rows); err != nil {
			t.Fatal(err)
		}
		gotH, gotRows, err := ReadDAT(&b)
		if err != nil {
			t.Fatalf("ReadDAT: %v\n%q", err, b.String())
		}
		canon := func(r []string) []string {
			out := make([]string, len(r))
			for i, v := range r {
				out[i] = Canonical(v)
			}
			return out
		}
		if !reflect.DeepEqual(gotH, canon(header)) {
			t.Fatalf("header %q, want %q", gotH, canon(header))
		}
		if len(gotRows) != len(rows) {
			t.Fatalf("%d rows, want %d", len(gotRows), len(rows))
		}
		for i := range rows {
			if !reflect.DeepEqual(gotRows[i], canon(rows[i])) {
				t.Fatalf("row %d = %q, want %q", i, gotRows[i], canon(rows[i]))
			}
		}
	})
}

// FuzzReadDAT holds ReadDAT to never panicking on any input, and to
// reading back exactly what WriteDAT makes of whatever it accepted.
func FuzzReadDAT(f *testing.F) {
	for _, s := range []string{
		"",
		"\uFEFF",
		"þAþ\x14þBþ\r\nþ1þ\x14þ2þ\r\n",
		"\uFEFFþBEGBATESþ\x14þTOþ\r\nþACME-1þ\x14þa®bþ\r\n",
		"A\x14B\n1\x142\n",
		"þAþ\r\nþxþþyþ",
		"þAþ\r\nþunclosed",
		"þAþ\r\nþaþb",
		"\xfe\xff\x14\x00",
		"þ",
		"þþ",
		"\x14\x14\r\n\x14\x14",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		header, rows, err := ReadDAT(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteDAT(&b, header, rows); err != nil {
			t.Fatalf("WriteDAT of what ReadDAT returned: %v", err)
		}
		h2, rows2, err := ReadDAT(&b)
		if err != nil {
			t.Fatalf("ReadDAT of WriteDAT output: %v", err)
		}
		if !reflect.DeepEqual(h2, header) || len(rows2) != len(rows) {
			t.Fatalf("header %q → %q, %d rows → %d", header, h2, len(rows), len(rows2))
		}
		for i := range rows {
			if !reflect.DeepEqual(rows[i], rows2[i]) {
				t.Fatalf("row %d %q → %q", i, rows[i], rows2[i])
			}
		}
	})
}
