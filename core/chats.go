package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// DocumentChat is a chat that is told of a document's changes, and the side
// it sees the document from.
type DocumentChat struct {
	User ChatUser
	Side Side
}

// Conversation is where a person is in a chat flow. Version grows with every
// transition; a screen's buttons carry the version they were drawn for.
type Conversation struct {
	ChatUserID int64
	Step       string
	Data       []byte // JSON, the flow's own
	Version    int64
}

// ChatStore keeps what the chat front ends need beyond documents.
type ChatStore interface {
	// FollowDocument records that a chat follows a document from a side;
	// following twice changes nothing.
	FollowDocument(ctx context.Context, documentID uuid.UUID, chatUserID int64, side Side) error
	// Following tells whether and from which side a chat follows a document.
	Following(ctx context.Context, documentID uuid.UUID, chatUserID int64) (Side, bool, error)
	// DocumentChats lists, once each, the chats to tell of a change: the
	// followers and the chat users bound to the organisation of either side,
	// without the chats that blocked the bot.
	DocumentChats(ctx context.Context, d *Document) ([]DocumentChat, error)
	// MarkChatBlocked stops notifications to a person who blocked the bot;
	// their next message to it clears the mark.
	MarkChatBlocked(ctx context.Context, chatUserID int64, at time.Time) error
	ChatUserByID(ctx context.Context, id int64) (*ChatUser, error)
	// ChatUserByHandle finds a person of a channel by @username or phone.
	ChatUserByHandle(ctx context.Context, channel, username, phone string) (*ChatUser, error)
	SetChatContact(ctx context.Context, id int64, username, phone string) error
	// OrgChatUsers lists the chats bound to an organisation that did not
	// block the bot.
	OrgChatUsers(ctx context.Context, orgID int64) ([]ChatUser, error)

	Conversation(ctx context.Context, chatUserID int64) (Conversation, error)
	// SaveConversation stores c if the stored version is still c.Version and
	// bumps it; false when another transition came first.
	SaveConversation(ctx context.Context, c *Conversation) (bool, error)

	InsertAuthChallenge(ctx context.Context, idHash []byte, chatUserID int64, challenge []byte, createdAt, expiresAt time.Time) error
	// AuthChallengeByHash returns the challenge's chat user, data, token hash
	// (nil until an eGov app asked), expiry and use.
	AuthChallengeByHash(ctx context.Context, idHash []byte) (chatUserID int64, challenge, tokenHash []byte, expiresAt time.Time, used bool, err error)
	SetAuthToken(ctx context.Context, idHash, tokenHash []byte) error
	// UseAuthChallenge marks an unused, unexpired challenge used; false when
	// it was not.
	UseAuthChallenge(ctx context.Context, idHash []byte, now time.Time) (bool, error)
	// SwapLiveScreen makes messageID the chat's live screen and returns
	// the one it was (0: none), atomically.
	SwapLiveScreen(ctx context.Context, channel, externalID string, messageID int64) (int64, error)
	// SaveMenu replaces the numbered choices of the last screen a chat was
	// shown, as the front end's own JSON; Menu reads them, nil when none.
	SaveMenu(ctx context.Context, chatUserID int64, choices []byte) error
	Menu(ctx context.Context, chatUserID int64) ([]byte, error)
}

// InboxStore keeps each message a chat front end received from its arrival
// until it was handled.
type InboxStore interface {
	// SaveInbound keeps m and sets its Seq; fresh is false when it was kept
	// before (the messenger delivered it again).
	SaveInbound(ctx context.Context, m *InboundMessage) (fresh bool, err error)
	// PendingInbound lists kept messages not handled yet after seq, in
	// order of arrival.
	PendingInbound(ctx context.Context, after int64, limit int) ([]InboundMessage, error)
	// InboundHandled marks one handled (the expiry job forgets it later).
	InboundHandled(ctx context.Context, seq int64, at time.Time) error
}

// Notification is one change to tell a chat of: a document's, or, for the
// chat.* kinds, a chat's sign-in.
type Notification struct {
	EventID uuid.UUID // the outbox event; with the chat, it names one delivery
	Kind    string    // an Outbox* kind or NotifyReminder
	// Document is the document as it is now, and Signers who signed it: the
	// one read of them a delivery makes. Nil for a chat's event.
	Document *Document
	Signers  []Signature
	// Status is the status the change left, which later changes may have
	// moved on; empty for a reminder.
	Status Status
	Side   Side // who acted, when someone did
	// Chat is the chat a chat.* event is about (the one that signed in) and
	// Org the organisation it now acts for.
	Chat *ChatUser
	Org  *Organisation
	// ESF is what an esf.* event tells, with Org its organisation.
	ESF *ESFNotice
	At  time.Time
}

// NotifyReminder is the kind of a reminder of a document left unsigned.
const NotifyReminder = "document.reminder"

// ErrChatBlocked is what a messenger answers when the person blocked the bot:
// retrying cannot help.
var ErrChatBlocked = errors.New("chat: the person blocked the bot")

// RestrictedError is a messenger's refusal of a message for good because
// the bot's account is restricted (WhatsApp's 463): retrying cannot help and
// only makes it worse. Reason is the messenger's own word for it.
type RestrictedError struct {
	Code   int
	Reason string
}

func (e *RestrictedError) Error() string {
	return fmt.Sprintf("messenger: refused (%d %s)", e.Code, e.Reason)
}

// RetryAfterError is a messenger's request to wait before sending again.
type RetryAfterError struct {
	Delay time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("messenger: retry after %s", e.Delay)
}

// ChatActor is the actor a bound chat user acts as.
func ChatActor(u *ChatUser, orgNumber string) Actor {
	return Actor{OrgID: u.OrgID, Number: orgNumber, Label: "user:" + strconv.FormatInt(u.ID, 10), ChatUserID: u.ID}
}
