package nca

import (
	"context"
	"time"
)

// Run keeps the trust fresh until ctx ends: it downloads the certificates
// when the stored ones are missing or older than the interval, then every
// interval; after a failed download it tries again sooner, waiting
// Retry and doubling up to the interval. The caller runs it in a goroutine
// it waits for; it returns when ctx ends. A failure (the network, the
// store) is logged and tried again: the trust stored before stays in force.
func (t *Trust) Run(ctx context.Context) error {
	interval, retry := t.Interval, t.Retry
	if interval <= 0 {
		interval = DefaultInterval
	}
	if retry <= 0 {
		retry = DefaultRetry
	}
	wait, backoff := t.untilDue(interval), retry
	for {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-t.after(wait):
			}
		}
		rep, err := t.Update(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			t.log().Error("refreshing NCA's certificates", "err", err)
		} else {
			t.logReport(rep)
		}
		if err == nil && rep.Count(Failed) == 0 {
			wait, backoff = interval, retry
		} else {
			wait, backoff = backoff, min(2*backoff, interval)
		}
		if t.Ready(ctx) != nil {
			t.log().Error("nothing is trusted yet: NCA's certificates could not be downloaded, and signatures are refused until they are",
				"retry_in", wait.String())
		}
	}
}

// untilDue is how long the stored certificates stay fresh: 0 when a source
// has none, else until the oldest download is an interval old.
func (t *Trust) untilDue(interval time.Duration) time.Duration {
	fetched := map[string]time.Time{}
	for _, c := range t.Certificates() {
		if c.Origin == OriginList {
			fetched[c.SourceURL] = c.FetchedAt
		}
	}
	var oldest time.Time
	for _, s := range t.Sources {
		at, ok := fetched[s.URL]
		if !ok {
			return 0
		}
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if len(t.Sources) == 0 {
		return interval
	}
	return max(0, oldest.Add(interval).Sub(t.now()))
}

func (t *Trust) logReport(rep Report) {
	log := t.log()
	for _, c := range rep.Changes {
		switch c.Outcome {
		case Failed:
			log.Warn("an NCA certificate was not downloaded or was refused", "url", c.URL, "err", c.Err, "previous_kept", c.Kept)
		case Added, Changed:
			log.Info("trusted certificate "+string(c.Outcome), "url", c.URL, "kind", c.Kind, "subject", c.Subject, "sha256", c.SHA256)
		}
	}
	roots, intermediates := t.TrustedCAs()
	log.Info("NCA certificates downloaded", "added", rep.Count(Added), "changed", rep.Count(Changed),
		"unchanged", rep.Count(Unchanged), "failed", rep.Count(Failed),
		"roots", len(roots), "intermediates", len(intermediates))
}
