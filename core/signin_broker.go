package core

import "context"

// authSignHash is AuthSign for a challenge known by its hash: a signature
// that fails verification leaves the challenge usable for NCALayer.
func (s *Identity) authSignHash(ctx context.Context, h, cms []byte) (*ChatUser, *Organisation, error) {
	_, data, _, expires, used, err := s.chats.AuthChallengeByHash(ctx, h)
	if err != nil || used || !s.now().Before(expires) {
		return nil, nil, ErrEgovSession
	}
	v, err := s.verifier.VerifyChallenge(ctx, cms, data)
	if err != nil {
		return nil, nil, err
	}
	ok, err := s.chats.UseAuthChallenge(ctx, h, s.now())
	if err != nil {
		return nil, nil, wrapf(err, "use auth challenge")
	}
	if !ok {
		return nil, nil, ErrEgovSession
	}
	return s.bind(ctx, h, v)
}
