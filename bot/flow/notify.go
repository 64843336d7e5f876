package flow

import (
	"context"

	"edobot/core"
)

// Notification draws a change of a document for one chat: what happened,
// and the card as that side sees it now.
func (f *Flow) Notification(ctx context.Context, chat core.DocumentChat, n core.Notification) ([]Screen, error) {
	u := &chat.User
	// The card is drawn from the document as it is now, so that its buttons
	// carry the current version; the header tells what this event did.
	d, acc, err := f.reach(ctx, u, n.Document.ID)
	if err != nil {
		d, acc = n.Document, access{side: chat.Side, byLink: true}
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
	card, err := f.cardFor(ctx, u, d, acc)
	if err != nil {
		return nil, err
	}
	card.Text = head + "\n\n" + card.Text
	return []Screen{card}, nil
}
