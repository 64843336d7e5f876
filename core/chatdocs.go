package core

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ChatAccess is how a chat user reaches a document: as an actor (their
// organisation, or themself for a document addressed to their own IIN), or
// as a follower of a link they opened in the chat.
type ChatAccess struct {
	Actor  Actor // zero for link access
	Side   Side
	ByLink bool
}

// ReachDocument finds a document for a chat user, reaching it as
// DocumentAccess decides with the link the chat followed in this chat. a is
// the chat's actor (ChatActor), zero for a chat not bound to an
// organisation. A document the chat cannot reach is ErrNotFound, so its
// existence is not revealed.
func (s *Identity) ReachDocument(ctx context.Context, u *ChatUser, a Actor, id uuid.UUID) (*Document, ChatAccess, error) {
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, ChatAccess{}, err
	}
	acc, err := DocumentAccess(u, a, d, func() (Side, bool, error) { return s.chats.Following(ctx, id, u.ID) })
	if err != nil {
		return nil, ChatAccess{}, err
	}
	if acc.ByLink && d.DeletedAt != nil {
		return nil, ChatAccess{}, ErrDeleted
	}
	return d, acc, nil
}

// DocumentAccess is the one rule of how a chat user reaches a document in
// hand: as the person themself when it is addressed to their own IIN (an
// employee's contract reaches the employee, not their employer's side),
// else through their organisation (a, the chat's actor; zero for a chat not
// bound), else through the link the chat follows it from. follow tells that
// link's side, and whether the chat follows the document at all; it is asked
// only when the chat is not a side itself. A document the chat cannot reach
// is ErrNotFound.
func DocumentAccess(u *ChatUser, a Actor, d *Document, follow func() (Side, bool, error)) (ChatAccess, error) {
	if u.Bound() {
		if d.RecipientNumber == u.IIN {
			a = Actor{Number: u.IIN, Label: a.Label, ChatUserID: a.ChatUserID}
		}
		if side, err := ActorSide(d, a); err == nil {
			return ChatAccess{Actor: a, Side: side}, nil
		}
	}
	side, ok, err := follow()
	if err != nil {
		return ChatAccess{}, err
	}
	if !ok {
		return ChatAccess{}, ErrNotFound
	}
	return ChatAccess{Side: side, ByLink: true}, nil
}

// FollowsFrom is DocumentAccess's follow for a chat known to follow a
// document from side: a chat notified of the document's change is one.
func FollowsFrom(side Side) func() (Side, bool, error) {
	return func() (Side, bool, error) { return side, true, nil }
}

// FollowDocument makes a chat hear of a document's changes from a side;
// following twice changes nothing.
func (s *Identity) FollowDocument(ctx context.Context, documentID uuid.UUID, chatUserID int64, side Side) error {
	return s.chats.FollowDocument(ctx, documentID, chatUserID, side)
}

// Following tells whether and from which side a chat follows a document.
func (s *Identity) Following(ctx context.Context, documentID uuid.UUID, chatUserID int64) (Side, bool, error) {
	return s.chats.Following(ctx, documentID, chatUserID)
}

// MarkChatBlocked stops notifications to a person who blocked the bot;
// their next message to it clears the mark.
func (s *Identity) MarkChatBlocked(ctx context.Context, chatUserID int64, at time.Time) error {
	return s.chats.MarkChatBlocked(ctx, chatUserID, at)
}

// ChatUserByHandle finds a person of a channel by @username or phone;
// ErrNotFound when the channel has no such chat.
func (s *Identity) ChatUserByHandle(ctx context.Context, channel, username, phone string) (*ChatUser, error) {
	return s.chats.ChatUserByHandle(ctx, channel, username, phone)
}

// SetChatContact records the @username and phone a messenger tells of a
// chat user, by which «Отправить получателю» finds them.
func (s *Identity) SetChatContact(ctx context.Context, chatUserID int64, username, phone string) error {
	return s.chats.SetChatContact(ctx, chatUserID, username, phone)
}

// Conversation is where a chat user is in a chat flow.
func (s *Identity) Conversation(ctx context.Context, chatUserID int64) (Conversation, error) {
	return s.chats.Conversation(ctx, chatUserID)
}

// SaveConversation moves a conversation on if no other transition came
// first since c was read (its Version); false when one did.
func (s *Identity) SaveConversation(ctx context.Context, c *Conversation) (bool, error) {
	return s.chats.SaveConversation(ctx, c)
}

// Parties lists an organisation's recent recipients, for a sender to pick
// from.
func (s *Identity) Parties(ctx context.Context, orgID int64, limit int) ([]Party, error) {
	return s.store.Parties(ctx, orgID, limit)
}

// Party is one entry of an organisation's directory of recipients.
func (s *Identity) Party(ctx context.Context, orgID, id int64) (*Party, error) {
	return s.store.Party(ctx, orgID, id)
}
