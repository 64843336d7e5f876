package flow

import (
	"context"

	"edobot/core"
)

// Send delivers screens to a chat: each messenger's own sending.
type Send func(ctx context.Context, to *core.ChatUser, screens []Screen) error

// Notify is a messenger's part of the jobs' delivery: it draws the
// notification for the chat and hands the screens to send; a notification
// with nothing to say to this chat sends nothing.
func (f *Flow) Notify(ctx context.Context, send Send, chat core.DocumentChat, n core.Notification) error {
	screens, err := f.Notification(ctx, chat, n)
	if err != nil || len(screens) == 0 {
		return err
	}
	return send(ctx, &chat.User, screens)
}

// Notification draws a change for one chat: a sign-in, or what happened to
// a document with the card as that side sees it now. It draws from what
// the notification carries and reads no document: the jobs read it, with
// its signers, once per delivery.
func (f *Flow) Notification(ctx context.Context, chat core.DocumentChat, n core.Notification) ([]Screen, error) {
	screens, err := f.notification(ctx, chat, n)
	return fold(screens), err
}

func (f *Flow) notification(ctx context.Context, chat core.DocumentChat, n core.Notification) ([]Screen, error) {
	u := &chat.User
	if core.ESFEvent(n.Kind) {
		if n.ESF == nil {
			return nil, nil
		}
		return f.esfNotice(u, n), nil
	}
	if core.ChatEvent(n.Kind) && (n.Chat == nil || n.Org == nil) {
		return nil, nil
	}
	switch n.Kind {
	case core.OutboxChatBound:
		return f.bound(ctx, u, n.Org), nil
	case core.OutboxChatJoined:
		return f.joined(u, n.Chat, n.Org), nil
	}
	d := n.Document
	if d == nil {
		return nil, nil
	}
	var head string
	switch n.Kind {
	case core.OutboxCreated:
		if chat.Side == core.SideSender {
			return nil, nil // the sender saw it created in the chat
		}
		head = f.t(u, "chat.incoming", map[string]any{"Sender": d.SenderName})
	case core.OutboxSigned:
		who := d.SenderName
		if n.Side == core.SideRecipient {
			who = d.RecipientName
		}
		head = f.t(u, "chat.notify_signed", map[string]any{"Who": who})
	case core.OutboxRevoked:
		head = f.t(u, "chat.notify_revoked", map[string]any{"Sender": d.SenderName})
	case core.OutboxDeleted:
		return []Screen{{Text: f.t(u, "chat.notify_deleted", map[string]any{"Title": f.title(u, d), "Sender": d.SenderName})}}, nil
	case core.NotifyReminder:
		head = f.t(u, "chat.notify_reminder", nil)
	default:
		return nil, nil
	}
	// The card is the document as it is now, so that its buttons carry the
	// current version; the header tells what this event did.
	acc, err := f.notifiedAccess(ctx, u, d, chat.Side)
	if err != nil {
		return nil, err
	}
	card := Screen{Text: f.cardText(u, d, n.Signers), Buttons: f.cardButtons(u, d, acc)}
	card.Text = head + "\n\n" + card.Text
	return []Screen{card}, nil
}

// notifiedAccess is how a notified chat reaches the document, as core
// decides it from the document in hand: the chat is told of the document
// only because it is a side or follows the document's link from side.
func (f *Flow) notifiedAccess(ctx context.Context, u *core.ChatUser, d *core.Document, side core.Side) (core.ChatAccess, error) {
	a, err := f.chatActor(ctx, u)
	if err != nil {
		return core.ChatAccess{}, err
	}
	return core.DocumentAccess(u, a, d, core.FollowsFrom(side))
}
