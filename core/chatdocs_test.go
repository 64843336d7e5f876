package core_test

import (
	"errors"
	"testing"

	"edobot/core"
)

// DocumentAccess is the one rule of a chat's side: the person themself for
// a document to their IIN, else their organisation, else the link the chat
// follows; the follow is asked only when the chat is not a side itself.
func TestDocumentAccessDecidesTheChatsSide(t *testing.T) {
	d := &core.Document{SenderOrgID: 7, SenderNumber: "111111111111", RecipientNumber: "222222222222"}
	sender := &core.ChatUser{ID: 1, OrgID: 7, IIN: "333333333333"}
	employee := &core.ChatUser{ID: 2, OrgID: 9, IIN: "222222222222"}
	stranger := &core.ChatUser{ID: 3}
	var asked int
	follows := func(side core.Side, ok bool) func() (core.Side, bool, error) {
		return func() (core.Side, bool, error) { asked++; return side, ok, nil }
	}
	for _, tc := range []struct {
		name   string
		u      *core.ChatUser
		a      core.Actor
		follow func() (core.Side, bool, error)
		want   core.ChatAccess
		asks   int
		err    error
	}{
		{"the sender's organisation", sender, core.ChatActor(sender, d.SenderNumber), follows(core.SideRecipient, true),
			core.ChatAccess{Actor: core.ChatActor(sender, d.SenderNumber), Side: core.SideSender}, 0, nil},
		{"the person themself, not their employer", employee, core.ChatActor(employee, "444444444444"), follows(core.SideSender, true),
			core.ChatAccess{Actor: core.Actor{Number: employee.IIN, Label: "user:2", ChatUserID: 2}, Side: core.SideRecipient}, 0, nil},
		{"a follower of the link", stranger, core.Actor{}, core.FollowsFrom(core.SideRecipient),
			core.ChatAccess{Side: core.SideRecipient, ByLink: true}, 0, nil},
		{"a bound chat of another organisation", &core.ChatUser{ID: 4, OrgID: 5, IIN: "555555555555"},
			core.ChatActor(&core.ChatUser{ID: 4, OrgID: 5}, "666666666666"), follows(core.SideSender, true),
			core.ChatAccess{Side: core.SideSender, ByLink: true}, 1, nil},
		{"a chat that does not follow it", stranger, core.Actor{}, follows(core.SideSender, false), core.ChatAccess{}, 1, core.ErrNotFound},
	} {
		asked = 0
		got, err := core.DocumentAccess(tc.u, tc.a, d, tc.follow)
		if !errors.Is(err, tc.err) || err == nil && tc.err != nil || got != tc.want || asked != tc.asks {
			t.Errorf("%s: %+v, %v, follow asked %d times", tc.name, got, err, asked)
		}
	}
}
