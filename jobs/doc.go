// Package jobs runs edobot's background work: delivering status changes to
// accounting systems' webhooks now; the outbox relay, notifications,
// reminders and periodic jobs on asynq as they come.
package jobs
