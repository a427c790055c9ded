// Package search is the archive's query language: it parses what a person
// types into a search box (words, "phrases", AND/OR/NOT, parentheses,
// prefix*, and field filters such as from:, channel: and on:) into a tree
// that a backend turns into its own query. Parsing is separate from
// running so that every backend reads the language the same way, and so a
// query can be checked, rendered back canonically and recorded before it
// touches any data.
package search
