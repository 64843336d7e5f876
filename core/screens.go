package core

import "context"

// SwapLiveScreen records that a chat's current screen (the message whose
// buttons answer) is now messageID, and returns the one before it (0 when
// there was none), for the front end to take its buttons away. It is kept
// in the database so that a restart or a second instance knows it too.
func (s *Identity) SwapLiveScreen(ctx context.Context, channel, externalID string, messageID int64) (int64, error) {
	prev, err := s.chats.SwapLiveScreen(ctx, channel, externalID, messageID)
	if err != nil {
		return 0, wrapf(err, "live screen of %s chat", channel)
	}
	return prev, nil
}
