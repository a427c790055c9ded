package index

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/canary"
)

// findCanaries reports every file under dir that holds any canary, and
// how many files it read.
func findCanaries(t *testing.T, dir string, canaries []string) (files int, found []string) {
	t.Helper()
	found, files, _, err := canary.ScanDir(dir, canaries)
	if err != nil {
		t.Fatal(err)
	}
	return files, found
}

func TestIndex_NoPlaintextOnDisk(t *testing.T) {
	dir := t.TempDir()
	ix := MustOpen(t, dir, testKey(9))
	tag := strings.ToLower(rand.Text())
	bodyCanary := "canarybody" + tag
	nameCanary := "canaryname" + tag
	fileCanary := "canaryfile" + tag
	canaries := []string{bodyCanary, nameCanary, fileCanary, "Canary phrase " + tag}

	// Enough events that pages reach the WAL and beyond the cache, plus
	// the canaries in every indexed place: body, names, attachment names.
	var entries []Entry
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3000 {
		ev := &onrecord.Event{
			ID: fmt.Sprintf("r%d", i), Channel: "whatsapp", Kind: onrecord.KindMessage,
			ProviderID: fmt.Sprintf("p%d", i), Conversation: "c1", Direction: onrecord.Inbound,
			Sender: onrecord.Party{ID: "15550102030", Name: "Ana " + nameCanary}, SentAt: base.Add(time.Duration(i) * time.Second),
			Recipients: []onrecord.Party{{ID: "15550109999", Name: "Desk " + nameCanary}},
			Body:       fmt.Sprintf("message %d says %s. Canary phrase %s.", i, bodyCanary, tag),
		}
		if i%10 == 0 {
			ev.Attachments = []onrecord.Attachment{{Name: fileCanary + ".pdf", ContentType: "application/pdf"}}
		}
		entries = append(entries, Entry{Seq: uint64(i + 1), Event: ev})
	}
	for i := 0; i < len(entries); i += 500 {
		if err := ix.AddBatch(t.Context(), entries[i:i+500]); err != nil {
			t.Fatal(err)
		}
	}
	// Searches that sort and count, so any temporary storage is used.
	for _, q := range []string{bodyCanary, nameCanary + " OR " + fileCanary, "from:" + nameCanary + " -has:attachment"} {
		res, err := ix.Search(t.Context(), mustParse(t, q, nil), SearchOptions{Order: Relevance, CountCap: 10000, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if res.Count == 0 {
			t.Fatalf("%s: the canary is not in the index, so the scan proves nothing", q)
		}
	}

	// While open (WAL not yet checkpointed) and after close.
	n, found := findCanaries(t, dir, canaries)
	if len(found) > 0 {
		t.Errorf("plaintext on disk while open:\n%s", strings.Join(found, "\n"))
	}
	if n < 2 {
		t.Errorf("scanned only %d files while open; expected the database and its WAL", n)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, found := findCanaries(t, dir, canaries); len(found) > 0 {
		t.Errorf("plaintext on disk after close:\n%s", strings.Join(found, "\n"))
	}

	// The scan itself finds a canary that is there.
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("x "+base64.StdEncoding.EncodeToString([]byte("ab"+bodyCanary))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, found := findCanaries(t, dir, canaries); len(found) != 1 {
		t.Errorf("scan of a planted base64 canary found %q, want one finding", found)
	}
}
