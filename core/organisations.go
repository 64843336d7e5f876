package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"edobot/core/iinbin"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Organisations registers organisations and keeps their API keys and
// webhooks.
type Organisations struct {
	*records
	webhooks WebhookStore
	trial    time.Duration // 0 = DefaultTrial
}

// Organisation returns an organisation by its ID: the one a chat user is
// bound to, say.
func (s *Organisations) Organisation(ctx context.Context, id int64) (*Organisation, error) {
	return s.store.OrganisationByID(ctx, id)
}

// RegisterOrganisation adds an organisation, or updates the name of one
// already registered under the same number. until, when given, is the last
// day of its subscription; without it a new organisation gets the trial a
// chat registration gets and one already registered keeps what it has.
func (s *Organisations) RegisterOrganisation(ctx context.Context, number, name string, until *time.Time) (*Organisation, bool, error) {
	number = iinbin.Normalize(number)
	if _, err := iinbin.Validate(number); err != nil {
		return nil, false, err
	}
	name, err := TextOrgName.Clean(name)
	if err != nil {
		return nil, false, err
	}
	o := &Organisation{Number: number, Name: name, SubscriptionUntil: until}
	if until == nil {
		switch had, err := s.store.OrganisationByNumber(ctx, number); {
		case err == nil:
			o.SubscriptionUntil, o.Trial = had.SubscriptionUntil, had.Trial
		case errors.Is(err, ErrOrgUnknown) || errors.Is(err, ErrNotFound):
			end := s.TrialUntil()
			o.SubscriptionUntil, o.Trial = &end, true
		default:
			return nil, false, wrapf(err, "register organisation")
		}
	}
	var created bool
	err = s.store.InTx(ctx, func(tx Tx) error {
		var err error
		created, err = tx.UpsertOrganisation(ctx, o)
		return err
	})
	if err != nil {
		return nil, false, wrapf(err, "register organisation")
	}
	return o, created, nil
}

// TrialUntil is the last day of a trial that starts now: the day, in
// Kazakhstan's time, the trial's length after now.
func (s *Organisations) TrialUntil() time.Time {
	trial := s.trial
	if trial <= 0 {
		trial = DefaultTrial
	}
	until := s.now().In(KazakhstanTime).Add(trial)
	return time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, time.UTC)
}

// OrganisationSummary is what the operator sees of an organisation.
type OrganisationSummary struct {
	Organisation
	APIKeys       int    // keys not revoked
	RevokedKeys   int    // keys revoked
	Chats         int    // chat users bound to it
	WebhookURL    string // "" when none
	DocumentsSent int    // documents it made, deleted ones excluded
}

// ListOrganisations lists every registered organisation, by number.
func (s *Organisations) ListOrganisations(ctx context.Context) ([]OrganisationSummary, error) {
	out, err := s.store.OrganisationSummaries(ctx, "")
	if err != nil {
		return nil, wrapf(err, "list organisations")
	}
	return out, nil
}

// ShowOrganisation is one organisation as ListOrganisations lists it.
func (s *Organisations) ShowOrganisation(ctx context.Context, number string) (OrganisationSummary, error) {
	number = iinbin.Normalize(number)
	if _, err := iinbin.Validate(number); err != nil {
		return OrganisationSummary{}, err
	}
	out, err := s.store.OrganisationSummaries(ctx, number)
	if err != nil {
		return OrganisationSummary{}, wrapf(err, "organisation %s", number)
	}
	if len(out) == 0 {
		return OrganisationSummary{}, ErrOrgUnknown
	}
	return out[0], nil
}

const apiKeyPrefix = "edo_"

// CreateAPIKey makes a new key for the organisation. The key is returned once;
// only its hash is stored.
func (s *Organisations) CreateAPIKey(ctx context.Context, orgNumber string) (string, *Organisation, error) {
	org, err := s.store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return "", nil, err
	}
	key := apiKeyPrefix + NewToken()
	h := sha256.Sum256([]byte(key))
	k := &APIKey{OrgID: org.ID, Hash: h[:], Prefix: key[:len(apiKeyPrefix)+6]}
	if err := s.store.InTx(ctx, func(tx Tx) error { return tx.InsertAPIKey(ctx, k) }); err != nil {
		return "", nil, wrapf(err, "store api key")
	}
	return key, org, nil
}

// Authenticate turns an API key into the organisation's actor.
func (s *Organisations) Authenticate(ctx context.Context, key string) (Actor, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) {
		return Actor{}, ErrAPIKeyInvalid
	}
	h := sha256.Sum256([]byte(key))
	k, err := s.store.APIKeyByHash(ctx, h[:])
	if errors.Is(err, ErrNotFound) || err == nil && (k.RevokedAt != nil || subtle.ConstantTimeCompare(k.Hash, h[:]) != 1) {
		return Actor{}, ErrAPIKeyInvalid
	}
	if err != nil {
		return Actor{}, wrapf(err, "look up api key")
	}
	org, err := s.store.OrganisationByID(ctx, k.OrgID)
	if err != nil {
		return Actor{}, wrapf(err, "api key organisation")
	}
	// The key is looked up on every request, never cached, so a revoked
	// key is refused from the next request on. Its use is written down at
	// most once a minute: a write per request would cost more than it says.
	if now := s.now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= APIKeyTouchEvery {
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			return Actor{}, wrapf(err, "api key use")
		}
	}
	return Actor{OrgID: org.ID, Number: org.Number, Label: fmt.Sprintf("apikey:%d", k.ID)}, nil
}

// APIKeyTouchEvery is how often a key's last use is written down.
const APIKeyTouchEvery = time.Minute

// APIKeys lists the organisation's API keys, newest first; only their
// prefixes are known.
func (s *Organisations) APIKeys(ctx context.Context, orgNumber string) ([]APIKey, *Organisation, error) {
	org, err := s.store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return nil, nil, err
	}
	keys, err := s.store.APIKeys(ctx, org.ID)
	if err != nil {
		return nil, nil, wrapf(err, "api keys of %s", org.Number)
	}
	return keys, org, nil
}

// RevokeAPIKey revokes a key: the next request with it is refused with
// ErrAPIKeyInvalid. Revoking a revoked key changes nothing and says so.
func (s *Organisations) RevokeAPIKey(ctx context.Context, id int64) (APIKey, bool, error) {
	k, already, err := s.store.RevokeAPIKey(ctx, id, s.now())
	if errors.Is(err, ErrNotFound) {
		return APIKey{}, false, ErrAPIKeyNotFound
	}
	if err != nil {
		return APIKey{}, false, wrapf(err, "revoke api key %d", id)
	}
	return k, already, nil
}
