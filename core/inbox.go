package core

import (
	"context"
	"errors"
	"time"
)

// A chat's menu and inbox are the state of its conversation the front end
// keeps between messages: what the numbers of the last screen meant, and
// the messages received but not handled yet.

// SaveMenu keeps the numbered choices of the last screen a chat was shown,
// as the front end's own JSON, so that a restart or another instance still
// understands an answer by number.
func (id *Identity) SaveMenu(ctx context.Context, chatUserID int64, choices []byte) error {
	return id.chats.SaveMenu(ctx, chatUserID, choices)
}

// Menu returns the choices SaveMenu kept for the chat; nil when none.
func (id *Identity) Menu(ctx context.Context, chatUserID int64) ([]byte, error) {
	return id.chats.Menu(ctx, chatUserID)
}

// errNoInbox is what the inbox use cases answer when the service keeps no
// inbox (Deps.Inbox nil).
var errNoInbox = errors.New("core: no inbox is kept")

// KeepsInbound reports whether received messages are kept until handled
// (Deps.Inbox set). Without it a front end keeps them in memory only.
func (id *Identity) KeepsInbound() bool { return id.inbox != nil }

// SaveInbound keeps a received message until it is handled and sets its
// Seq; fresh is false when it was kept before (the messenger delivered it
// again). The messenger is to be told the message arrived only after this
// returned: a process stopped mid-way then loses none.
func (id *Identity) SaveInbound(ctx context.Context, m *InboundMessage) (fresh bool, err error) {
	if id.inbox == nil {
		return false, errNoInbox
	}
	return id.inbox.SaveInbound(ctx, m)
}

// PendingInbound lists the kept messages not handled yet after seq, in
// order of arrival, at most limit.
func (id *Identity) PendingInbound(ctx context.Context, after int64, limit int) ([]InboundMessage, error) {
	if id.inbox == nil {
		return nil, nil
	}
	return id.inbox.PendingInbound(ctx, after, limit)
}

// InboundHandled records that the kept message seq was handled at at.
func (id *Identity) InboundHandled(ctx context.Context, seq int64, at time.Time) error {
	if id.inbox == nil {
		return errNoInbox
	}
	return id.inbox.InboundHandled(ctx, seq, at)
}
