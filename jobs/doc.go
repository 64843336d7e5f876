// Package jobs runs edobot's background work on asynq (Redis): the outbox
// relay that turns committed changes into tasks, the notifications that
// carry each change into every chat involved exactly once and within the
// messengers' rate limits, the signed webhook deliveries to accounting
// systems, and the periodic reminders and expiry.
//
// It sees the database only through the small interfaces of runner.go,
// which storage implements, and the messengers only through Messenger.
package jobs
