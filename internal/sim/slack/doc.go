// Package slacksim simulates the parts of Slack onrecord uses: the Events
// API webhooks (signed with the v0 scheme exactly as Slack signs them, with
// the current time, so the connector's five-minute replay window applies)
// and the Web API calls the connector makes (chat.postMessage, files.info,
// and file downloads from url_private that, like Slack, answer a request
// without the bot token with an HTML sign-in page and a 200).
//
// It deliberately shares no code with internal/connector/slack: the
// signatures and payloads here are written from Slack's documentation, so a
// mistake in the connector is not silently mirrored by the simulator.
//
// The cast is a bank's staff (Harbor Trust Bank's workspace) talking to
// clients through Slack Connect: a direct message, a shared channel, a
// private desk channel and a group DM.
package slacksim
