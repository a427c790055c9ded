package onrecord

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one CLI exit code, in one
// place (internal/httpapi, internal/cli), so internals never leak.
const (
	EINVALID     = "invalid"     // the caller sent something malformed
	ECONFLICT    = "conflict"    // the same id with different content
	ENOTFOUND    = "not_found"   // no such thing
	EFORBIDDEN   = "forbidden"   // refused by a rule (retention, hold, permission)
	EUNAVAILABLE = "unavailable" // cannot be made durable now (disk full, journal failed)
	EINTERNAL    = "internal"    // a bug or an unexpected failure
)

// Error is the application error: a code for programs and a message for
// people.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
