//go:build !linux

package harden

// Process does nothing outside Linux: onrecord's supported servers run
// Linux; macOS and Windows builds are for developers.
func Process() (State, error) { return State{}, nil }

// Current reports nothing outside Linux.
func Current() (State, error) { return State{}, nil }
