package export

import (
	"errors"
	"os"
	"runtime"
	"sync"
)

// EncodeFunc renders file i of a format: its name (relative to the root it
// is written under) and its bytes.
type EncodeFunc func(i int) (name string, data []byte, err error)

// FileError is the error of WriteFiles: Index is the file that failed, and
// Encoding whether rendering it failed (or writing it did).
type FileError struct {
	Index    int
	Name     string // empty when encoding failed
	Encoding bool
	Err      error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// WriteFiles renders n files with encode on every CPU and creates them
// under root, in order, as they are ready. Formats that write a file per
// message or per conversation spend most of their time creating files,
// which the file system does one at a time; rendering the next files
// meanwhile hides the rest.
//
// Each file is created new (O_EXCL: an export never writes over a file)
// and not synced: Produce makes every file of an export durable at once
// when it hashes them, which costs far less than one fsync per file.
// Files 0..k-1 are complete when it returns a *FileError about file k; a
// file that could not be written completely is removed.
func WriteFiles(root *os.Root, n int, encode EncodeFunc) error {
	type rendered struct {
		name string
		data []byte
		err  error
	}
	workers := runtime.GOMAXPROCS(0)
	// Enough rendered files in flight to keep the writer busy, few enough
	// to bound the memory they hold.
	window := 4 * workers
	slots := make([]chan rendered, n)
	for i := range slots {
		slots[i] = make(chan rendered, 1)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		next    int
		stopped bool
	)
	// A worker puts a token in before it claims a file; the writer takes
	// one out for every file it consumes.
	tokens := make(chan struct{}, window+workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				tokens <- struct{}{}
				mu.Lock()
				i := next
				next++
				stop := stopped || i >= n
				mu.Unlock()
				if stop {
					// The token is not given back: the writer only
					// takes tokens of files it consumes, and the channel
					// has room for one per worker beyond the window.
					return
				}
				name, data, err := encode(i)
				slots[i] <- rendered{name, data, err}
			}
		}()
	}
	var ferr *FileError
	for i := 0; i < n; i++ {
		r := <-slots[i]
		<-tokens
		if r.err != nil {
			ferr = &FileError{Index: i, Encoding: true, Err: r.err}
			break
		}
		if err := createFile(root, r.name, r.data); err != nil {
			ferr = &FileError{Index: i, Name: r.name, Err: err}
			break
		}
	}
	if ferr != nil {
		mu.Lock()
		stopped = true
		mu.Unlock()
		// Let workers waiting to put a token in see that it stopped.
		go func() {
			for range tokens {
			}
		}()
		wg.Wait()
		close(tokens)
		return ferr
	}
	wg.Wait()
	return nil
}

// createFile creates name under root with data, or leaves nothing.
func createFile(root *os.Root, name string, data []byte) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err != nil {
		_ = root.Remove(name) // the write already failed; this only tidies up
		return err
	}
	return nil
}
