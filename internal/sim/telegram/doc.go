// Package telegramsim simulates the parts of the Telegram Bot API onrecord
// uses — getFile, the file download, sendMessage and sendDocument, all
// with the bot token in the path and 404 Not Found for a wrong one, as the
// real API answers — and produces webhook deliveries of every update kind
// the telegram connector maps, with the secret-token header Telegram sends
// once setWebhook was given a secret_token.
//
// The simulated day is at Harbor & Finch Private Bank: clients write to the
// bank's bot and in its groups, and employees' Telegram Business accounts
// (connected to the bot) carry their private chats with clients. Files are
// stateless: a file id names its kind and determines its path and bytes,
// so any simulator with the same token serves any delivery's files, and
// the size an update announces is the size the download returns.
package telegramsim
