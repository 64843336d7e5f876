package flow

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// parseCallback reads a button's data as choice, documentChoice and
// wizardChoice do.
func parseCallback(data string) bool {
	kind, rest, _ := strings.Cut(data, ".")
	code, ok := parseMenuCode(kind)
	if ok && code == CodeWizard {
		ver, value, _ := strings.Cut(rest, ".")
		if _, err := strconv.ParseInt(ver, 10, 64); err != nil {
			return false
		}
		_, ok = parseWizardCode(value)
		return ok
	}
	if !ok || code != CodeDocument {
		return ok
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) != 3 {
		return false
	}
	_, _, ok = parseDocumentCode(parts[2])
	return ok
}

// TestEveryProducedCodeIsKnown: every button the document screens draw, for
// a document in every status, seen from either side, through the
// organisation or the link, and every button of the new document's wizard
// at each of its steps, is a code of the table; and no producer in the
// package writes a code as a string literal, so none can drift from it.
func TestEveryProducedCodeIsKnown(t *testing.T) {
	fx := storagetest.NewFixture(t)
	fx.Create(t) // the recipient is a party of the sender's directory
	f := &Flow{Service: fx.Svc, Cat: i18n.MustNew(), PublicURL: "https://edo.example.kz"}
	u := &core.ChatUser{Language: "ru", OrgID: fx.Sender.OrgID}
	var buttons []Button
	collect := func(screens ...Screen) {
		for _, s := range screens {
			for _, row := range s.Buttons {
				buttons = append(buttons, row...)
			}
		}
	}
	now := time.Now()
	for _, st := range core.Statuses {
		for _, side := range []core.Side{core.SideSender, core.SideRecipient} {
			for _, byLink := range []bool{false, true} {
				d := &core.Document{ID: uuid.New(), Version: 3, Status: st, Type: core.DocTypes[0], LinkToken: "token"}
				if st == core.StatusSigned {
					d.SenderSignedAt, d.RecipientSignedAt = &now, &now
				}
				acc := core.ChatAccess{Side: side, ByLink: byLink}
				for _, row := range f.cardButtons(u, d, acc) {
					for _, btn := range row {
						parts := strings.Split(btn.Data, ".")
						if c := Code(parts[len(parts)-1]); byLink && parts[0] == string(CodeDocument) && !codes[c].link {
							t.Errorf("%s, by link: a card offers %q, which the table keeps from a link", st, c)
						}
					}
				}
				collect(Screen{Buttons: f.cardButtons(u, d, acc)}, f.downloadsScreen(u, d, acc), f.shareScreen(u, d),
					f.editScreen(u, d), f.editTypeScreen(u, d), f.languages(u))
				collect(f.confirmAction(u, d, "chat.confirm_revoke", CodeRevokeYes)...)
				collect(f.confirmAction(u, d, "chat.confirm_delete", CodeDeleteYes)...)
			}
		}
	}
	wizard := &state{conv: core.Conversation{Version: 4}, Draft: draft{Prop: &proposed{PartyNumber: fx.Recipient.Number,
		PartyName: "ТОО", Number: "7", Date: "2026-03-02", Type: core.DocTypes[0]}}}
	for _, step := range []string{stepRecipient, stepPartyNumber, stepPartyKind, stepPartyName, stepPartyContact,
		stepType, stepNumber, stepDate, stepConfirm, stepProposal, stepEditNumber, stepEditDate} {
		wizard.Step = step
		collect(f.prompt(t.Context(), u, wizard)...)
	}
	seen := map[string]bool{}
	for _, b := range buttons {
		if b.Data == "" {
			continue // a link or a copy button
		}
		if !parseCallback(b.Data) {
			t.Errorf("button %q: data %q is no code of the table", b.Label, b.Data)
		}
		seen[b.Data[strings.LastIndex(b.Data, ".")+1:]] = true
	}
	for _, c := range []Code{CodeSign, CodeRevoke, CodeDelete, CodeEdit, CodeView, CodeRevokeYes, CodeDeleteYes, CodeOriginal,
		typeCode(core.DocTypes[0])} {
		if !seen[string(c)] {
			t.Errorf("no screen drew %q: the walk misses a producer", c)
		}
	}
	// Every wizard code of the table, a party of the directory among them.
	drawn := map[Code]bool{}
	for data := range seen {
		c := Code(data)
		if _, ok := c.partyOf(); ok {
			c = CodeParty
		}
		if _, ok := c.typeOf(); ok {
			c = CodeType
		}
		drawn[c] = true
	}
	for c, i := range codes {
		if i.wizard && !drawn[c] {
			t.Errorf("no wizard screen drew %q: the walk misses a producer", c)
		}
	}
	for _, bad := range []string{"d.x.1.zz", "d.x.1.t", "d.x.1.tnot_a_type", "zz", "d.x.1.m", "v", "d.x.1.cancel", "d.x.1.p5",
		"w.1.zz", "w.1.p", "w.1.p0", "w.1.pabc", "w.1.t", "w.1.tnot_a_type", "w.1.v", "w.1.m", "w.x.cancel", "cancel", "p5"} {
		if parseCallback(bad) {
			t.Errorf("%q was accepted", bad)
		}
	}

	// The sources: a code reaches a button only through the table.
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				var name string
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr: // f.w
					name = fn.Sel.Name
				}
				if at, ok := map[string]int{"docButton": 2, "callbackData": 0, "w": 2}[name]; ok && at < len(n.Args) {
					if startsWithLiteral(n.Args[at]) || isConversion(n.Args[at]) {
						t.Errorf("%s: %s with a literal code", fset.Position(n.Pos()), name)
					}
				}
			case *ast.BinaryExpr:
				// A comparison with a bare literal on a code: value == "cancel".
				if n.Op == token.EQL || n.Op == token.NEQ {
					for _, side := range []ast.Expr{n.X, n.Y} {
						if id, ok := side.(*ast.Ident); ok && (id.Name == "value" || id.Name == "code") {
							other := n.Y
							if side == n.Y {
								other = n.X
							}
							if lit, ok := other.(*ast.BasicLit); ok && lit.Kind == token.STRING {
								t.Errorf("%s: a code compared with the literal %s", fset.Position(n.Pos()), lit.Value)
							}
						}
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Data" && startsWithLiteral(n.Value) {
					t.Errorf("%s: a button's data written as a literal", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

// isConversion is Code("…") or Code(x) + "…": a code made outside the
// table.
func isConversion(e ast.Expr) bool {
	if b, ok := e.(*ast.BinaryExpr); ok {
		return isConversion(b.X) || startsWithLiteral(b.Y)
	}
	c, ok := e.(*ast.CallExpr)
	if !ok || len(c.Args) != 1 {
		return false
	}
	id, ok := c.Fun.(*ast.Ident)
	return ok && id.Name == "Code" && startsWithLiteral(c.Args[0])
}

func startsWithLiteral(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.BasicLit:
			return x.Kind == token.STRING
		case *ast.BinaryExpr:
			e = x.X
		default:
			return false
		}
	}
}

// TestMutatingCodesNeedTheCurrentVersion: a tap on any mutating code from a
// card of an older version changes nothing and shows the document as it is
// now.
func TestMutatingCodesNeedTheCurrentVersion(t *testing.T) {
	fx := storagetest.NewFixture(t)
	ctx := context.Background()
	f := &Flow{Service: fx.Svc, Cat: i18n.MustNew(), PublicURL: "https://edo.example.kz"}
	u, err := fx.Svc.ChatUser(ctx, core.ChannelTelegram, strconv.FormatInt(time.Now().UnixNano(), 10), "Тест", "ru")
	if err != nil {
		t.Fatal(err)
	}
	u.IIN, u.OrgID = storagetest.RandomIIN(), fx.Sender.OrgID
	if err := fx.DB.BindChatUser(ctx, u.ID, u.IIN, u.OrgID, time.Now()); err != nil {
		t.Fatal(err)
	}
	d := fx.Create(t)
	changed := f.t(u, "chat.doc_changed", nil)
	var mutating []Code
	for c, i := range codes {
		switch {
		case c == CodeType:
			mutating = append(mutating, typeCode(core.DocTypes[len(core.DocTypes)-1]))
		case i.mutating:
			mutating = append(mutating, c)
		}
	}
	// What changes a document or sends it, whatever the table says.
	for _, c := range []Code{CodeRevoke, CodeRevokeYes, CodeDelete, CodeDeleteYes, CodeArchive, CodeUnarchive, CodeCopy,
		CodeSendRecipient, CodeEdit, CodeEditNumber, CodeEditDate, CodeEditType, CodeType} {
		if !codes[c].mutating {
			t.Errorf("%q is not marked mutating", c)
		}
	}
	for _, c := range mutating {
		old := callbackData(CodeDocument, docID(d.ID), strconv.FormatInt(d.Version-1, 10), string(c))
		screens := f.Handle(ctx, u, Input{Choice: old})
		if len(screens) == 0 || !strings.HasPrefix(screens[0].Text, changed) {
			t.Errorf("%s from an old card: %+v", c, screens)
		}
		now, err := fx.DB.Document(ctx, d.ID)
		if err != nil || now.Version != d.Version || now.DeletedAt != nil {
			t.Fatalf("%s from an old card changed the document: %+v %v", c, now, err)
		}
	}
}
