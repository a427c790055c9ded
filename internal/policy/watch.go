package policy

import (
	"context"
	"sync/atomic"
	"time"
)

// Engine holds the active policy set and swaps it when the directory
// changes. A set that does not load is refused and the active one stays:
// a typo in a policy file never turns enforcement off.
type Engine struct {
	dir string
	cur atomic.Pointer[Set]
}

// NewEngine loads dir; the first load must succeed.
func NewEngine(dir string) (*Engine, error) {
	s, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{dir: dir}
	e.cur.Store(s)
	return e, nil
}

// NewStaticEngine serves one set that never reloads (the built-in
// starter pack).
func NewStaticEngine(s *Set) *Engine {
	e := &Engine{}
	e.cur.Store(s)
	return e
}

// Active is the set in force.
func (e *Engine) Active() *Set { return e.cur.Load() }

// Evaluate decides with the active set.
func (e *Engine) Evaluate(ctx context.Context, in Input) (*Decision, error) {
	return e.cur.Load().Evaluate(ctx, in)
}

// Reload loads the directory again. If it changed and is valid, it becomes
// active and changed is true; if it is not valid, err says why and the
// active set stays.
func (e *Engine) Reload() (changed bool, err error) {
	if e.dir == "" {
		return false, nil
	}
	s, err := LoadDir(e.dir)
	if err != nil {
		return false, err
	}
	if s.Version == e.cur.Load().Version {
		return false, nil
	}
	e.cur.Store(s)
	return true, nil
}

// Watch reloads every interval until ctx ends, calling onChange with each
// new active set (to record it) and onError with each refused one.
func (e *Engine) Watch(ctx context.Context, interval time.Duration, onChange func(*Set), onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := e.Reload()
		switch {
		case err != nil:
			// Report a broken file once, not on every tick.
			if err.Error() != lastErr && onError != nil {
				onError(err)
			}
			lastErr = err.Error()
		case changed:
			lastErr = ""
			if onChange != nil {
				onChange(e.Active())
			}
		default:
			lastErr = ""
		}
	}
}
