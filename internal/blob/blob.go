// Package blob keeps attachments apart from the records that refer to them.
// A Store holds immutable objects under content addresses; Sealed wraps a
// Store so that what reaches it is encrypted and addressed by a keyed hash
// of the plaintext, never by a bare SHA-256 that anyone holding a file
// could recompute to learn that the archive holds it.
//
// Encryption is convergent (the key is derived from a secret and the
// content) so that the same file sent to a hundred people is stored once;
// the derived key is kept inside the sealed record that refers to the blob,
// so destroying the record's bucket key (disposal) leaves a blob nobody can
// open without already holding its plaintext.
package blob

import (
	"context"
	"errors"
	"fmt"
)

// Store keeps immutable objects under addresses of 64 lowercase hex digits.
// Implementations are safe for concurrent use.
type Store interface {
	// Put makes b durable under addr before it returns. If addr exists
	// already Put leaves it untouched and returns nil: one address names
	// one content.
	Put(ctx context.Context, addr string, b []byte) error
	// Get returns the bytes stored under addr, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, addr string) ([]byte, error)
	// Delete removes addr; removing an address that is not there is not an
	// error.
	Delete(ctx context.Context, addr string) error
}

// ErrNotFound is wrapped by Get for an address that holds nothing.
var ErrNotFound = errors.New("blob not found")

// ValidAddress checks that addr is 64 lowercase hex digits, so that it is
// safe as a file name or object key.
func ValidAddress(addr string) error {
	if len(addr) != 64 {
		return fmt.Errorf("blob address %q: want 64 hex digits", addr)
	}
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("blob address %q: want lowercase hex", addr)
		}
	}
	return nil
}
