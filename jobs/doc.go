// Package jobs will run edobot's background work on asynq: the outbox relay,
// notifications, reminders and periodic jobs. The outbox rows it will relay
// are already written by every status change (see storage).
package jobs
