package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"edobot/core/iinbin"
)

// AuthChallenge is what a chat user signs, once, to prove their IIN and the
// BIN of the organisation they act for. The ID is a bearer secret of 256
// bits: it is the path of the eGov session and of the NCALayer page.
type AuthChallenge struct {
	ID        string
	Data      []byte
	ExpiresAt time.Time
}

// DefaultAuthTTL is how long a sign-in QR or page stays usable.
const DefaultAuthTTL = 10 * time.Minute

// DefaultTrial is how long an organisation that registered itself through a
// chat may send documents before it needs a subscription.
const DefaultTrial = 14 * 24 * time.Hour

// StartAuth opens a sign-in challenge for a chat user.
func (s *Identity) StartAuth(ctx context.Context, u *ChatUser, ttl time.Duration) (*AuthChallenge, error) {
	if ttl <= 0 {
		ttl = DefaultAuthTTL
	}
	now := s.now()
	c := &AuthChallenge{ID: NewToken(), ExpiresAt: now.Add(ttl)}
	// The text says what is being signed, in the languages the signing app
	// may show it in; the nonce makes every challenge unique.
	// The text names the chat being signed into, so that a person handed
	// someone else's sign-in link sees whose chat they would let in.
	c.Data = []byte(fmt.Sprintf("edobot: вход в чат / чатқа кіру / chat sign-in\n%s\nnonce %s\n%s",
		ChatWho(u), NewToken(), now.UTC().Format(time.RFC3339)))
	if err := s.chats.InsertAuthChallenge(ctx, LinkHash(c.ID), u.ID, c.Data, now, c.ExpiresAt); err != nil {
		return nil, wrapf(err, "store auth challenge")
	}
	return c, nil
}

// ChatWho names a chat for a person to recognise it: the messenger, the
// name, and the @username or phone.
func ChatWho(u *ChatUser) string {
	who := map[string]string{ChannelTelegram: "Telegram", ChannelWhatsApp: "WhatsApp"}[u.Channel] + ": " + u.Name
	switch {
	case u.Username != "":
		who += " (@" + u.Username + ")"
	case u.Phone != "":
		who += " (" + u.Phone + ")"
	}
	return who + " #" + u.ExternalID
}

// liveChallenge is a challenge neither used nor expired: whose it is, what
// is signed and the eGov app's token hash. Any other is ErrEgovSession.
func (s *Identity) liveChallenge(ctx context.Context, h []byte) (userID int64, data, tokenHash []byte, expires time.Time, err error) {
	userID, data, tokenHash, expires, used, err := s.chats.AuthChallengeByHash(ctx, h)
	if err != nil || used || !s.now().Before(expires) {
		return 0, nil, nil, time.Time{}, ErrEgovSession
	}
	return userID, data, tokenHash, expires, nil
}

// AuthChallengeData returns a live challenge's bytes and expiry, for the
// NCALayer page.
func (s *Identity) AuthChallengeData(ctx context.Context, id string) ([]byte, time.Time, error) {
	_, data, _, expires, err := s.liveChallenge(ctx, LinkHash(id))
	if err != nil {
		return nil, time.Time{}, err
	}
	return data, expires, nil
}

// AuthDescribe answers the eGov app's first request for a sign-in challenge:
// the challenge (what its description names) and a fresh one-time token for
// the next two requests.
func (s *Identity) AuthDescribe(ctx context.Context, id string) ([]byte, string, time.Time, error) {
	data, expires, err := s.AuthChallengeData(ctx, id)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	token := NewToken()
	if err := s.chats.SetAuthToken(ctx, LinkHash(id), LinkHash(token)); err != nil {
		return nil, "", time.Time{}, wrapf(err, "auth token")
	}
	return data, token, expires, nil
}

// authAuthorise is a live challenge's chat user and data, for the eGov app
// that holds the token.
func (s *Identity) authAuthorise(ctx context.Context, id, token string) (int64, []byte, error) {
	userID, data, tokenHash, _, err := s.liveChallenge(ctx, LinkHash(id))
	if err != nil {
		return 0, nil, err
	}
	if !tokenMatches(tokenHash, token) {
		return 0, nil, ErrEgovToken
	}
	return userID, data, nil
}

// AuthData returns the challenge to the eGov app that holds the token.
func (s *Identity) AuthData(ctx context.Context, id, token string) ([]byte, error) {
	_, data, err := s.authAuthorise(ctx, id, token)
	return data, err
}

// AuthSignEgov takes the CMS the eGov app signed the challenge with. Like a
// document's QR, the challenge is used up by the attempt.
func (s *Identity) AuthSignEgov(ctx context.Context, id, token string, cms []byte) (*ChatUser, *Organisation, error) {
	userID, data, err := s.authAuthorise(ctx, id, token)
	if err != nil {
		return nil, nil, err
	}
	if err := s.useChallenge(ctx, LinkHash(id)); err != nil {
		return nil, nil, err
	}
	v, err := s.verifier.VerifyChallenge(ctx, cms, data)
	if err != nil {
		return nil, nil, err
	}
	return s.bind(ctx, userID, v)
}

// AuthSign takes a CMS made on the NCALayer page. A signature that fails
// verification (a wrong key picked, say) leaves the challenge usable, so the
// person can try again with the right key; a valid one uses it up.
func (s *Identity) AuthSign(ctx context.Context, id string, cms []byte) (*ChatUser, *Organisation, error) {
	return s.authSignHash(ctx, LinkHash(id), cms)
}

// authSignHash is AuthSign for a challenge known by its hash (the signing
// broker's too).
func (s *Identity) authSignHash(ctx context.Context, h, cms []byte) (*ChatUser, *Organisation, error) {
	userID, data, _, _, err := s.liveChallenge(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.verifier.VerifyChallenge(ctx, cms, data)
	if err != nil {
		return nil, nil, err
	}
	if err := s.useChallenge(ctx, h); err != nil {
		return nil, nil, err
	}
	return s.bind(ctx, userID, v)
}

// useChallenge marks a challenge used; only the first use succeeds.
func (s *Identity) useChallenge(ctx context.Context, h []byte) error {
	ok, err := s.chats.UseAuthChallenge(ctx, h, s.now())
	if err != nil {
		return wrapf(err, "use auth challenge")
	}
	if !ok {
		return ErrEgovSession
	}
	return nil
}

// bind binds the chat user to the IIN and organisation that the verified
// signature over the challenge proves: the BIN of an employee's
// certificate, or the IIN itself for a sole proprietor's. An organisation
// seen for the first time is registered with a trial.
func (s *Identity) bind(ctx context.Context, userID int64, v VerifiedSignature) (*ChatUser, *Organisation, error) {
	u, err := s.chats.ChatUserByID(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	number := v.Signer.BIN
	// A certificate's names are the CA's, yet kept as any other text is.
	name := TextOrgName.Sanitize(v.Signer.Organisation)
	if number == "" {
		number = v.Signer.IIN
		name = TextOrgName.Sanitize("ИП " + v.Signer.FullName)
	}
	if _, err := iinbin.Validate(number); err != nil {
		return nil, nil, err
	}
	if name == "" || name == "ИП" {
		name = number
	}
	org, err := s.store.OrganisationByNumber(ctx, number)
	known := err == nil
	if !known && !errors.Is(err, ErrOrgUnknown) && !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	}
	// The organisation a first sign-in registers, the binding and what the
	// chats are told of it commit together: the chat hears that it is
	// signed in, and everyone already acting for the organisation hears of a
	// new chat acting for it, so that a sign-in link signed by mistake does
	// not go unseen.
	now := s.now()
	err = s.store.InTx(ctx, func(tx Tx) error {
		if !known {
			// A new organisation gets the trial.
			end := s.orgs.TrialUntil()
			org = &Organisation{Number: number, Name: name, SubscriptionUntil: &end, Trial: true}
			if _, err := tx.UpsertOrganisation(ctx, org); err != nil {
				return wrapf(err, "register organisation")
			}
		}
		payload, err := json.Marshal(ChatEventPayload{ChatUserID: u.ID, OrgID: org.ID, OrgNumber: org.Number})
		if err != nil {
			return err
		}
		if err := tx.BindChatUser(ctx, u.ID, v.Signer.IIN, org.ID, now); err != nil {
			return err
		}
		for _, kind := range []string{OutboxChatBound, OutboxChatJoined} {
			m := &OutboxMessage{ID: uuid.New(), ChatUserID: u.ID, Kind: kind, Payload: payload, CreatedAt: now}
			if err := tx.AddOutbox(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	u.IIN, u.OrgID = v.Signer.IIN, org.ID
	s.log.InfoContext(ctx, "chat user bound", "chat_user", u.ID, "org", org.Number, "serial", v.Signer.CertSerial)
	return u, org, nil
}
