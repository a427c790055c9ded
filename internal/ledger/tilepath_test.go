package ledger

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTilePath(t *testing.T) {
	valid := []struct {
		path string
		want TilePath
	}{
		{"tile/0/000", TilePath{Level: 0, Index: 0, Width: 256}},
		{"tile/0/001", TilePath{Level: 0, Index: 1, Width: 256}},
		{"tile/0/999", TilePath{Level: 0, Index: 999, Width: 256}},
		{"tile/0/x001/000", TilePath{Level: 0, Index: 1000, Width: 256}},
		{"tile/2/x001/x234/067", TilePath{Level: 2, Index: 1234067, Width: 256}},
		{"tile/1/000.p/1", TilePath{Level: 1, Index: 0, Width: 1}},
		{"tile/0/x001/x234/067.p/255", TilePath{Level: 0, Index: 1234067, Width: 255}},
		{"tile/63/000", TilePath{Level: 63, Index: 0, Width: 256}},
		{"tile/entries/000", TilePath{Entries: true, Index: 0, Width: 256}},
		{"tile/entries/x002/500.p/17", TilePath{Entries: true, Index: 2500, Width: 17}},
		{"tile/0/x018/x446/x744/x073/x709/x551/615", TilePath{Index: 1<<64 - 1, Width: 256}},
	}
	for _, tt := range valid {
		t.Run(tt.path, func(t *testing.T) {
			got, err := ParseTilePath(tt.path)
			if err != nil {
				t.Fatalf("ParseTilePath: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.path {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
	invalid := []string{
		"", "tile", "tile/", "tile/0", "tile/0/", "tile/0/0", "tile/0/00", "tile/0/0000",
		"tile/00/000", "tile/01/000", "tile/64/000", "tile/-1/000", "tile/+1/000", "tile/a/000",
		"tile/0/x000/001", "tile/0/x001", "tile/0/001/000", "tile/0/y001/000", "tile/0/xx01/000",
		"tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/000.p/", "tile/0/000.p",
		"tile/0/000.p/1/", "tile/0/000/", "/tile/0/000", "tile/0/000.p/1.p/1", "tile/0/00a",
		"tile/entries/", "tile/entries/00", "tile/entry/000", "tile/entries/000.p/300",
		"tile/0/x018/x446/x744/x073/x709/x551/616", // 2^64
		"tile/0/x999/x999/x999/x999/x999/x999/x999/999",
		"tile/0/" + strings.Repeat("x001/", 50) + "000",
		"tile/0/000\x00", "tile/0/٠٠٠",
	}
	for _, p := range invalid {
		t.Run("invalid "+p, func(t *testing.T) {
			if got, err := ParseTilePath(p); !errors.Is(err, ErrBadTilePath) {
				t.Fatalf("ParseTilePath(%q) = %+v, %v; want ErrBadTilePath", p, got, err)
			}
		})
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{
		"tile/0/000", "tile/2/x001/x234/067", "tile/1/000.p/1", "tile/entries/x002/500.p/17",
		"tile/0/x000/001", "tile/0/000.p/256", "tile/0/x018/x446/x744/x073/x709/x551/616", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p, err := ParseTilePath(path)
		if err != nil {
			return
		}
		// Accepted paths are canonical and round-trip.
		if p.String() != path {
			t.Fatalf("ParseTilePath(%q) = %+v, which prints as %q", path, p, p.String())
		}
		if p.Width < 1 || p.Width > TileWidth || p.Level < 0 || p.Level > 63 {
			t.Fatalf("ParseTilePath(%q) = %+v out of bounds", path, p)
		}
		again, err := ParseTilePath(p.String())
		if err != nil || again != p {
			t.Fatalf("re-parse of %q = %+v, %v", p.String(), again, err)
		}
	})
}
