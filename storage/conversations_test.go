package storage_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"
)

// TestConversationVersion: of two transitions made from the same state, one
// is kept and the other is told it came second.
func TestConversationVersion(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	u, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, "conv-"+core.NewToken(), "A", "kk") // new each run
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.DB.Conversation(ctx, u.ID)
	if err != nil || c.Version != 0 || c.Step != "" {
		t.Fatalf("new conversation = %+v %v", c, err)
	}
	for round := 0; round < 5; round++ {
		base, _ := f.DB.Conversation(ctx, u.ID)
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				next := base
				next.Step, next.Data = "step", []byte(`{"i":1}`)
				ok, err := f.DB.SaveConversation(ctx, &next)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("round %d: %d transitions from one state were kept", round, won.Load())
		}
		after, _ := f.DB.Conversation(ctx, u.ID)
		if after.Version != base.Version+1 || after.Step != "step" {
			t.Fatalf("round %d: %+v after %+v", round, after, base)
		}
	}
}

// TestDocumentChats lists followers and bound chat users of both sides, once
// each, without blocked chats.
func TestDocumentChats(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	d := f.Create(t)
	chat := func(id string) *core.ChatUser {
		u, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, id, id, "ru")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	manager, colleague, counter, opener, blocked := chat("m-"+d.Number), chat("c-"+d.Number), chat("r-"+d.Number), chat("o-"+d.Number), chat("b-"+d.Number)
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	recipientOrg, _ := f.DB.OrganisationByNumber(ctx, f.Recipient.Number)
	must(f.DB.BindChatUser(ctx, manager.ID, storagetest.RandomIIN(), f.Sender.OrgID, now))
	must(f.DB.BindChatUser(ctx, colleague.ID, storagetest.RandomIIN(), f.Sender.OrgID, now))
	must(f.DB.BindChatUser(ctx, counter.ID, storagetest.RandomIIN(), recipientOrg.ID, now))
	must(f.DB.BindChatUser(ctx, blocked.ID, storagetest.RandomIIN(), f.Sender.OrgID, now))
	must(f.DB.FollowDocument(ctx, d.ID, manager.ID, core.SideSender))
	must(f.DB.FollowDocument(ctx, d.ID, manager.ID, core.SideSender))
	must(f.DB.FollowDocument(ctx, d.ID, opener.ID, core.SideRecipient))
	must(f.DB.MarkChatBlocked(ctx, blocked.ID, now))

	chats, err := f.DB.DocumentChats(ctx, d)
	must(err)
	got := map[int64]core.Side{}
	for _, c := range chats {
		if _, dup := got[c.User.ID]; dup {
			t.Fatalf("chat %d listed twice", c.User.ID)
		}
		got[c.User.ID] = c.Side
	}
	want := map[int64]core.Side{manager.ID: core.SideSender, colleague.ID: core.SideSender, counter.ID: core.SideRecipient,
		opener.ID: core.SideRecipient}
	if len(got) != len(want) {
		t.Fatalf("chats = %v, want %v", got, want)
	}
	for id, side := range want {
		if got[id] != side {
			t.Fatalf("chat %d: side %q, want %q", id, got[id], side)
		}
	}
	// Writing to the bot again lifts the block.
	if _, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, "b-"+d.Number, "b", "ru"); err != nil {
		t.Fatal(err)
	}
	chats, _ = f.DB.DocumentChats(ctx, d)
	if len(chats) != 5 {
		t.Fatalf("after unblocking: %d chats", len(chats))
	}

	// An employee's document reaches the employee's own chat through the IIN.
	in := f.NewDocument()
	in.Recipient = core.PartyInput{Kind: core.PartyEmployee, Number: storagetest.RandomIIN(), Name: "Сотрудник"}
	e, err := f.Svc.CreateDocument(ctx, f.Sender, in, bytes.NewReader(f.PDF))
	must(err)
	// The employee works for the sender: the document is still theirs to sign.
	employee := chat("e-" + d.Number)
	must(f.DB.BindChatUser(ctx, employee.ID, in.Recipient.Number, f.Sender.OrgID, now))
	chats, _ = f.DB.DocumentChats(ctx, e)
	found := false
	for _, c := range chats {
		if c.User.ID == employee.ID && c.Side == core.SideRecipient {
			found = true
		}
	}
	if !found {
		t.Fatalf("the employee's chat is not told: %+v", chats)
	}
}
