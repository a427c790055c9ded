package signal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"signal-cli framing", "event:receive\ndata:{\"a\":1}\n\n", []string{"receive|{\"a\":1}"}},
		{"space after colon", "data: {\"a\":1}\n\n", []string{"|{\"a\":1}"}},
		{"multi-line data joins with LF", "data:{\"a\":\ndata:1}\n\n", []string{"|{\"a\":\n1}"}},
		{"keepalive comments ignored", ":\n:\ndata:x\n\n:\n", []string{"|x"}},
		{"CRLF", "event:receive\r\ndata:x\r\n\r\n", []string{"receive|x"}},
		{"lone CR", "data:x\rdata:y\r\r", []string{"|x\ny"}},
		{"no data no dispatch", "event:receive\n\nid:4\nretry:10\n\n", nil},
		{"empty data line dispatches empty? no: data without value", "data\n\n", []string{"|"}},
		{"unfinished event at EOF dropped", "data:x\n\ndata:y\n", []string{"|x"}},
		{"event name resets", "event:a\ndata:1\n\ndata:2\n\n", []string{"a|1", "|2"}},
		{"unknown field ignored", "foo:bar\ndata:z\n\n", []string{"|z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			// One byte at a time exercises the CR-at-buffer-end path.
			err := readEvents(iotest.OneByteReader(strings.NewReader(tt.in)), func(ev sseEvent) error {
				got = append(got, ev.name+"|"+string(ev.data))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadEvents_OversizedEventFails(t *testing.T) {
	big := "data:" + strings.Repeat("x", maxEventBytes+10) + "\n\n"
	err := readEvents(strings.NewReader(big), func(sseEvent) error { return nil })
	if err == nil {
		t.Fatal("oversized event accepted")
	}
}

func TestReadEvents_CallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := readEvents(strings.NewReader("data:1\n\ndata:2\n\n"), func(sseEvent) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}
