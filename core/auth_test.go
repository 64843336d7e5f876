package core_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// authFixture is a fixture whose verifier trusts a GOST test CA.
func authFixture(t *testing.T) (*storagetest.Fixture, *sigtest.GOSTKey) {
	f := storagetest.NewFixture(t)
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(deps *core.Deps) { deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}} })
	return f, nca
}

var chatSeq = time.Now().UnixNano()

func newChatUser(t *testing.T, f *storagetest.Fixture) *core.ChatUser {
	chatSeq++
	u, err := f.Svc.ChatUser(context.Background(), core.ChannelTelegram, strconv.FormatInt(chatSeq, 10), "Тест", "ru")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAuthThroughEgovRegistersTheOrganisation(t *testing.T) {
	f, nca := authFixture(t)
	ctx := context.Background()
	u := newChatUser(t, f)
	bin := storagetest.RandomBIN()
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ӘБДІҚАДЫРОВ", Name: "ҒАЛЫМЖАН",
		Organisation: "ТОО «Жаңа»"}, sigtest.GOST2015, nca.Cert)

	before := time.Now()
	c, err := f.Svc.StartAuth(ctx, u, 0)
	after := time.Now()
	if err != nil || len(c.ID) < 43 || c.ExpiresAt.Before(before.Add(core.DefaultAuthTTL)) || c.ExpiresAt.After(after.Add(core.DefaultAuthTTL)) {
		t.Fatalf("start: %+v %v", c, err)
	}
	_, token, _, err := f.Svc.AuthDescribe(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.AuthData(ctx, c.ID, "wrong"); !errors.Is(err, core.ErrEgovToken) {
		t.Fatalf("wrong token: %v", err)
	}
	data, err := f.Svc.AuthData(ctx, c.ID, token)
	if err != nil || string(data) != string(c.Data) {
		t.Fatalf("data: %q %v", data, err)
	}
	bound, org, err := f.Svc.AuthSignEgov(ctx, c.ID, token, key.SignCMS(t, data, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if org.Number != bin || org.Name != "ТОО «Жаңа»" || !org.SubscriptionActive(time.Now()) ||
		org.SubscriptionActive(time.Now().Add(core.DefaultTrial+48*time.Hour)) {
		t.Fatalf("organisation = %+v", org)
	}
	stored, err := f.DB.ChatUserByID(ctx, u.ID)
	if err != nil || stored.OrgID != org.ID || stored.IIN != bound.IIN || !stored.Bound() {
		t.Fatalf("stored chat user = %+v %v", stored, err)
	}
	// The chat is told through the outbox, written with the binding.
	if got := chatEvents(t, f, u.ID); len(got) != 2 || got[0] != core.OutboxChatBound+" "+strconv.FormatInt(org.ID, 10) ||
		got[1] != core.OutboxChatJoined+" "+strconv.FormatInt(org.ID, 10) {
		t.Fatalf("chat events = %q", got)
	}
	// The same session again: used up.
	if _, _, err := f.Svc.AuthSignEgov(ctx, c.ID, token, key.SignCMS(t, data, sigtest.CMSOptions{})); !errors.Is(err, core.ErrEgovSession) {
		t.Fatalf("replay: %v", err)
	}
	if _, _, _, err := f.Svc.AuthDescribe(ctx, c.ID); !errors.Is(err, core.ErrEgovSession) {
		t.Fatalf("describe a used challenge: %v", err)
	}
}

func TestAuthThroughNCALayer(t *testing.T) {
	f, nca := authFixture(t)
	ctx := context.Background()
	u := newChatUser(t, f)
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Sender.Number, Surname: "АХМЕТОВ", Name: "БОЛАТ",
		Organisation: "другое имя"}, sigtest.GOST2015, nca.Cert)
	c, err := f.Svc.StartAuth(ctx, u, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.Svc.StartAuth(ctx, u, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A signature over another challenge is refused and uses nothing up.
	if _, _, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, other.Data, sigtest.CMSOptions{})); err == nil {
		t.Fatal("a signature over another challenge was accepted")
	}
	if _, _, err := f.Svc.AuthSign(ctx, c.ID, []byte("not a cms")); err == nil {
		t.Fatal("garbage was accepted")
	}
	colleague := newChatUser(t, f)
	if err := f.DB.BindChatUser(ctx, colleague.ID, storagetest.RandomIIN(), f.Sender.OrgID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(c.Data), core.ChatWho(u)) {
		t.Fatalf("the challenge does not name the chat: %q", c.Data)
	}
	before, _ := f.DB.OrganisationByID(ctx, f.Sender.OrgID)
	_, org, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, c.Data, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	// An organisation already registered keeps its name and subscription.
	if org.ID != f.Sender.OrgID || org.Name != before.Name || !org.SubscriptionUntil.Equal(*before.SubscriptionUntil) {
		t.Fatalf("organisation = %+v, was %+v", org, before)
	}
	if _, _, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, c.Data, sigtest.CMSOptions{})); !errors.Is(err, core.ErrEgovSession) {
		t.Fatalf("replay: %v", err)
	}
	// The organisation's other chats are to hear of it, once (the jobs fan
	// chat.joined out to them; jobs.TestSignInToldToTheChatAndTheOrganisation);
	// the colleague's binding without a sign-in told nobody.
	want := []string{core.OutboxChatBound + " " + strconv.FormatInt(org.ID, 10), core.OutboxChatJoined + " " + strconv.FormatInt(org.ID, 10)}
	if got := chatEvents(t, f, u.ID); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("chat events = %q, want %q", got, want)
	}
	if got := chatEvents(t, f, colleague.ID); len(got) != 0 {
		t.Fatalf("colleague's events = %q", got)
	}
}

func TestAuthPersonalCertificateAndExpiry(t *testing.T) {
	f, nca := authFixture(t)
	ctx := context.Background()
	u := newChatUser(t, f)
	iin := storagetest.RandomIIN()
	key := nca.Issue(t, sigtest.Person{IIN: iin, Surname: "ҚАСЫМОВА", Name: "ӨМІРЖАН"}, sigtest.GOST2015, nca.Cert)

	now := time.Now()
	f.Wire(func(deps *core.Deps) { deps.Now = func() time.Time { return now } })
	expired, err := f.Svc.StartAuth(ctx, u, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f.Wire(func(deps *core.Deps) { deps.Now = func() time.Time { return now.Add(2 * time.Minute) } })
	if _, _, err := f.Svc.AuthSign(ctx, expired.ID, key.SignCMS(t, expired.Data, sigtest.CMSOptions{})); !errors.Is(err, core.ErrEgovSession) {
		t.Fatalf("expired challenge: %v", err)
	}
	if _, _, err := f.Svc.AuthChallengeData(ctx, core.NewToken()); !errors.Is(err, core.ErrEgovSession) {
		t.Fatalf("unknown challenge: %v", err)
	}
	f.Wire(func(deps *core.Deps) { deps.Now = nil })
	c, err := f.Svc.StartAuth(ctx, u, 0)
	if err != nil {
		t.Fatal(err)
	}
	bound, org, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, c.Data, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	// A sole proprietor acts under the IIN the certificate proves.
	if org.Number != iin || org.Name != "ИП ҚАСЫМОВА ӨМІРЖАН" || bound.IIN != iin {
		t.Fatalf("personal certificate bound to %+v as %s", org, bound.IIN)
	}
}

// TestAuthWithAnAuthenticationKey: the key NCALayer offers for signing in
// (AUTH) proves who the person is as well as a signing key does.
func TestAuthWithAnAuthenticationKey(t *testing.T) {
	f, nca := authFixture(t)
	ctx := context.Background()
	u := newChatUser(t, f)
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "АУТ", Name: "КЛЮЧ", Auth: true},
		sigtest.GOST2015, nca.Cert)
	c, err := f.Svc.StartAuth(ctx, u, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, org, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, c.Data, sigtest.CMSOptions{})); err != nil || org.ID != f.Recipient.OrgID {
		t.Fatalf("an AUTH key: %+v %v", org, err)
	}
}

// chatEvents lists the outbox events about a chat user, as "kind org_id",
// chat.bound first.
func chatEvents(t *testing.T, f *storagetest.Fixture, chatUserID int64) []string {
	t.Helper()
	rows, err := f.DB.Pool.Query(context.Background(), `SELECT kind || ' ' || (payload->>'org_id') FROM outbox
		WHERE chat_user_id = $1 AND document_id IS NULL ORDER BY kind`, chatUserID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
