package storage

// MarkUnavailable is markUnavailable, for telling pgx's errors apart in
// tests.
var MarkUnavailable = markUnavailable
