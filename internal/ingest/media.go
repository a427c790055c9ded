package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/fetch"
)

// TaskQueue is where failed media fetches wait, durably, for their next
// attempt (package queue).
type TaskQueue interface {
	// Name derives a task name from the parts that identify the task.
	Name(parts ...string) string
	Put(name string, task []byte) error
	Get(name string) ([]byte, error)
	Delete(name string) error
	List() ([]string, error)
}

// DefaultMediaRetry spaces attempts over about a day: long enough for a
// provider's outage, short enough to stay inside WhatsApp's 30-day media
// retention and Telegram's file availability.
var DefaultMediaRetry = []time.Duration{
	30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 4 * time.Hour, 12 * time.Hour,
}

// Subtypes of the system records that close a media retry, linked by
// Target to the event whose attachment failed at capture.
const (
	SubtypeAttachmentFetched = "attachment_fetched"
	SubtypeAttachmentFailed  = "attachment_failed"
)

// mediaTask is a media fetch waiting for another attempt. It carries what
// the closing record needs to sit in the right conversation, not the
// original's content.
type mediaTask struct {
	Channel   string             `json:"channel"`
	Original  onrecord.Event     `json:"original"`
	Index     int                `json:"index"`
	Media     connector.MediaRef `json:"media"`
	Attempts  int                `json:"attempts"`
	NextAt    time.Time          `json:"next_at"`
	LastError string             `json:"last_error"`
}

// mediaParallel is how many files of one delivery are fetched at once. An
// MMS or a Slack message carries up to ten, a WhatsApp batch or history
// webhook more; fetched one after another from a distant provider they
// could outlast the provider's webhook timeout, and it would send them all
// again.
const mediaParallel = 4

// maxInlineMedia is the most files of one delivery fetched before it is
// acknowledged. The rest are queued durably, due at once, and fetched
// right after by the media retry loop (RetryMedia), each closed by an
// attachment_fetched record: the delivery is answered in time, and a
// webhook naming weeks of media (WhatsApp's history) is not held in memory
// whole. Without a queue every file is fetched before the acknowledgement.
const maxInlineMedia = 16

// errDeferred and errMediaMemory are the notes on an attachment left to
// the queue.
var (
	errDeferred    = fmt.Errorf("not fetched before the acknowledgement: more than %d files in one delivery", maxInlineMedia)
	errMediaMemory = errors.New("not fetched before the acknowledgement: the files of deliveries in progress filled max_media_memory")
)

// fetchMedia downloads the media of a delivery's events into their
// attachments, mediaParallel at a time. A failure is recorded in the
// attachment (Error, Ref) and counted; one that may pass later is queued
// durably before the delivery is acknowledged. The events are stored
// either way, so nothing waits on a provider's media server. The error is
// only for a retry that could not be queued.
//
// The files fetched are held against max_media_memory until the returned
// release is called, after their records are committed; a file for which
// there is no room then is queued, as those past maxInlineMedia are.
func (g *Gateway) fetchMedia(ctx context.Context, ch *channel, events []connector.Event) (release func(), err error) {
	var held atomic.Int64
	release = func() { g.media.release(held.Load()) }
	type job struct{ ev, i int }
	var jobs []job
	atts := make([][]onrecord.Attachment, len(events))
	for e := range events {
		atts[e] = make([]onrecord.Attachment, len(events[e].Media))
		for i := range events[e].Media {
			jobs = append(jobs, job{e, i})
		}
	}
	if len(jobs) == 0 {
		return release, nil
	}
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(mediaParallel, len(jobs)) {
		wg.Go(func() {
			for k := next.Add(1) - 1; k < int64(len(jobs)); k = next.Add(1) - 1 {
				j := jobs[k]
				atts[j.ev][j.i], errs[k] = g.fetchAttachment(ctx, ch, &events[j.ev], j.i, k >= maxInlineMedia, &held)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		release()
		return func() {}, err
	}
	for e := range events {
		if len(events[e].Media) > 0 {
			events[e].Attachments = append(events[e].Attachments, atts[e]...)
			events[e].Media = nil
		}
	}
	return release, nil
}

// fetchAttachment fetches media i of ev, or with deferred set queues it to
// be fetched after the acknowledgement. It reads ev and changes nothing in
// it: the attachments of one delivery are fetched side by side.
// The file read is added to held, reserved against max_media_memory.
func (g *Gateway) fetchAttachment(ctx context.Context, ch *channel, ev *connector.Event, i int, deferred bool, held *atomic.Int64) (onrecord.Attachment, error) {
	name := ch.Config.Name
	m := ev.Media[i]
	att := onrecord.Attachment{Name: m.Name, ContentType: m.ContentType, Ref: m.Ref}
	if att.Name == "" {
		att.Name = "attachment"
	}
	canQueue := g.opts.MediaQueue != nil && len(g.opts.MediaRetry) > 0
	if deferred && canQueue {
		return g.deferAttachment(ch, ev, i, att, errDeferred)
	}
	g.m.mediaInFlight.WithLabelValues(name).Inc()
	data, ctype, err := g.fetchOne(ctx, ch, m)
	g.m.mediaInFlight.WithLabelValues(name).Dec()
	if errors.Is(err, errMediaMemory) && canQueue {
		if g.media.shouldLog(g.opts.Now()) {
			g.log.Warn("files in memory at max_media_memory: queued to be fetched after the acknowledgement",
				"channel", name, "bytes_held", g.media.used.Load(), "max_media_memory", g.media.max)
		}
		return g.deferAttachment(ch, ev, i, att, errMediaMemory)
	}
	held.Add(int64(len(data)))
	att.Data = data
	if ctype != "" && att.ContentType == "" {
		att.ContentType = ctype
	}
	if err != nil {
		att.Error = truncate(err.Error(), 300)
		g.m.mediaErrors.WithLabelValues(name).Inc()
		ch.health.mediaErrors.Add(1)
		if retryable(err) && g.opts.MediaQueue != nil && len(g.opts.MediaRetry) > 0 {
			if qerr := g.queueMedia(ch, &ev.Event, i, m, err, g.opts.Now().Add(g.opts.MediaRetry[0])); qerr != nil {
				return att, qerr
			}
			att.Error += " (retrying)"
		}
		g.log.Warn("media not fetched; failure recorded in the record", "channel", name, "err", err)
	}
	return att, nil
}

// deferAttachment queues media i of ev, due at once, to be fetched after
// the acknowledgement, and returns its attachment saying why.
func (g *Gateway) deferAttachment(ch *channel, ev *connector.Event, i int, att onrecord.Attachment, why error) (onrecord.Attachment, error) {
	if err := g.queueMedia(ch, &ev.Event, i, ev.Media[i], why, g.opts.Now()); err != nil {
		return att, err
	}
	att.Error = why.Error() + " (queued)"
	return att, nil
}

// retryable says whether a fetch may succeed later. A file over the size
// cap or a destination the SSRF guard refused will not.
func retryable(err error) bool {
	return !errors.Is(err, fetch.ErrTooLarge) && !errors.Is(err, fetch.ErrRefused)
}

// fetchOne fetches m. The bytes it returns are held against
// max_media_memory, reserved as they arrive, until the caller releases
// len(data); when there is no room for them the fetch stops with
// errMediaMemory and holds nothing.
func (g *Gateway) fetchOne(ctx context.Context, ch *channel, m connector.MediaRef) ([]byte, string, error) {
	if m.Size > g.opts.MaxMediaBytes {
		return nil, "", fmt.Errorf("%w: announced %d bytes", fetch.ErrTooLarge, m.Size)
	}
	body, ctype, err := ch.connector().Fetch(ctx, ch.Client, m)
	if err != nil {
		return nil, "", err
	}
	defer body.Close()
	r := &budgetReader{r: body, b: &g.media}
	data, err := fetch.ReadAll(r, g.opts.MaxMediaBytes)
	if errors.Is(err, errMediaMemory) {
		g.media.release(r.n)
		return nil, "", err
	}
	g.media.release(r.n - int64(len(data))) // read past the cap and cut off, or not kept
	return data, ctype, err
}

func (g *Gateway) queueMedia(ch *channel, ev *onrecord.Event, i int, m connector.MediaRef, cause error, nextAt time.Time) error {
	orig := *ev
	orig.Body, orig.Raw, orig.Attachments, orig.Meta = "", nil, nil, nil
	t := mediaTask{Channel: ch.Config.Name, Original: orig, Index: i, Media: m,
		NextAt: nextAt, LastError: truncate(cause.Error(), 300)}
	b, err := json.Marshal(&t)
	if err != nil {
		return fmt.Errorf("encode media task: %w", err)
	}
	if err := g.opts.MediaQueue.Put(g.taskName(&t), b); err != nil {
		return fmt.Errorf("queue media retry: %w", err)
	}
	g.m.mediaBacklog.WithLabelValues(t.Channel).Inc()
	ch.health.mediaBacklog.Add(1)
	return nil
}

// taskName is the same for a provider's retry of the same delivery, so it
// queues one task.
func (g *Gateway) taskName(t *mediaTask) string {
	return g.opts.MediaQueue.Name("media", t.Channel, t.Original.ProviderID, string(t.Original.Kind), strconv.Itoa(t.Index))
}

// countBacklog counts the queued media fetches of the channels in only
// (every channel when nil, at start) into their backlog gauges.
func (g *Gateway) countBacklog(only map[string]bool) error {
	if g.opts.MediaQueue == nil {
		return nil
	}
	names, err := g.opts.MediaQueue.List()
	if err != nil {
		return err
	}
	for _, n := range names {
		t, err := g.loadTask(n)
		if err != nil {
			return err
		}
		if ch := g.channel(t.Channel); ch != nil && (only == nil || only[t.Channel]) {
			ch.health.mediaBacklog.Add(1)
			g.m.mediaBacklog.WithLabelValues(t.Channel).Inc()
		}
	}
	return nil
}

func (g *Gateway) loadTask(name string) (*mediaTask, error) {
	b, err := g.opts.MediaQueue.Get(name)
	if err != nil {
		return nil, err
	}
	var t mediaTask
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("media task %s: %w", name, err)
	}
	return &t, nil
}

// RetryMedia attempts due media fetches every interval until ctx ends.
func (g *Gateway) RetryMedia(ctx context.Context, every time.Duration) {
	if g.opts.MediaQueue == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := g.RetryDueMedia(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("media retry pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RetryDueMedia makes one attempt at every queued fetch that is due. A
// fetch that succeeds, or fails for the last time, is closed by a system
// record linked to the original event (the original is never changed);
// only then is its task removed. It returns how many tasks it closed.
func (g *Gateway) RetryDueMedia(ctx context.Context) (closed int, err error) {
	if g.opts.MediaQueue == nil {
		return 0, nil
	}
	names, err := g.opts.MediaQueue.List()
	if err != nil {
		return 0, err
	}
	for _, n := range names {
		if ctx.Err() != nil {
			return closed, ctx.Err()
		}
		t, err := g.loadTask(n)
		if err != nil {
			return closed, err
		}
		ch := g.channel(t.Channel)
		if ch == nil || g.opts.Now().Before(t.NextAt) {
			continue // a channel removed from the configuration keeps its tasks
		}
		done, err := g.retryOne(ctx, ch, n, t)
		if err != nil {
			return closed, err
		}
		if done {
			closed++
		}
	}
	return closed, nil
}

func (g *Gateway) retryOne(ctx context.Context, ch *channel, name string, t *mediaTask) (bool, error) {
	data, ctype, ferr := g.fetchOne(ctx, ch, t.Media)
	if errors.Is(ferr, errMediaMemory) {
		return false, nil // no room now: the task stays due for the next round
	}
	defer g.media.release(int64(len(data)))
	if ferr != nil && ctx.Err() != nil {
		return false, ctx.Err() // shutting down is not a failed attempt
	}
	if ferr != nil {
		t.LastError = truncate(ferr.Error(), 300)
		if retryable(ferr) && t.Attempts+1 < len(g.opts.MediaRetry) {
			t.Attempts++
			t.NextAt = g.opts.Now().Add(g.opts.MediaRetry[t.Attempts])
			b, err := json.Marshal(t)
			if err != nil {
				return false, fmt.Errorf("encode media task: %w", err)
			}
			return false, g.opts.MediaQueue.Put(name, b)
		}
	}
	att := onrecord.Attachment{Name: t.Media.Name, ContentType: t.Media.ContentType, Ref: t.Media.Ref, Data: data}
	if att.ContentType == "" {
		att.ContentType = ctype
	}
	if att.Name == "" {
		att.Name = "attachment"
	}
	o := &t.Original
	ev := onrecord.Event{
		Channel: t.Channel, Kind: onrecord.KindSystem, Subtype: SubtypeAttachmentFetched,
		ProviderID: o.ProviderID + "#attachment-" + strconv.Itoa(t.Index), Target: o.ProviderID,
		Conversation: o.Conversation, Direction: o.Direction, Sender: o.Sender, Recipients: o.Recipients,
		SentAt: o.SentAt, Group: o.Group, GroupName: o.GroupName, Thread: o.Thread, RetentionClass: o.RetentionClass,
		Meta: map[string]string{
			"attachment_index": strconv.Itoa(t.Index), "target_kind": string(o.Kind),
			"attempts": strconv.Itoa(t.Attempts + 1),
		},
	}
	if ferr != nil {
		ev.Subtype = SubtypeAttachmentFailed
		att.Error = t.LastError
		g.m.mediaErrors.WithLabelValues(t.Channel).Inc()
		ch.health.mediaErrors.Add(1)
		g.log.Warn("ALERT media fetch given up; failure recorded", "channel", t.Channel, "attempts", t.Attempts+1, "err", ferr)
	}
	ev.Attachments = []onrecord.Attachment{att}
	if _, err := g.opts.Archive.Append(ctx, &ev); err != nil {
		return false, fmt.Errorf("record media retry: %w", err)
	}
	if err := g.opts.MediaQueue.Delete(name); err != nil {
		return false, err
	}
	g.m.mediaBacklog.WithLabelValues(t.Channel).Dec()
	ch.health.mediaBacklog.Add(-1)
	g.m.events.WithLabelValues(t.Channel, string(ev.Kind)).Inc()
	return true, nil
}
