package flow

import (
	"context"
	"strconv"
	"strings"

	"edobot/core"
)

// pageSize is how many documents a folder screen lists.
const pageSize = 8

// folderChoice is "f.<folder>.<offset>": one page of a folder.
func (f *Flow) folderChoice(ctx context.Context, u *core.ChatUser, rest string) ([]Screen, error) {
	name, off, _ := strings.Cut(rest, ".")
	offset, _ := strconv.Atoi(off)
	if offset < 0 {
		offset = 0
	}
	a, _, err := f.actor(ctx, u)
	if err != nil {
		return f.mustMenu(ctx, u), err
	}
	folder := core.Folder(name)
	docs, err := f.Service.Folder(ctx, a, folder, core.FolderQuery{Limit: pageSize + 1, Offset: offset})
	if err != nil {
		return nil, err
	}
	// The menu shows the counts; a page of a folder is drawn on every tap
	// of its arrows and skips counting.
	title := folderIcon[folder] + " " + f.t(u, "folder."+name, nil)
	s := f.listScreen(ctx, u, a, title, docs, offset, func(o int) string { return callbackData(CodeFolder, name, strconv.Itoa(o)) })
	s.Replace = true
	return []Screen{s}, nil
}

// search lists the documents of every folder whose number or other party
// matches the query.
func (f *Flow) search(ctx context.Context, u *core.ChatUser, st *state, q string, offset int) ([]Screen, error) {
	a, _, err := f.actor(ctx, u)
	if err != nil {
		return f.mustMenu(ctx, u), err
	}
	// The query is kept in the conversation: it must be fit to keep.
	q, err = core.TextSearch.Clean(q)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	if q == "" {
		st.set(stepSearch)
		return f.prompt(ctx, u, st), nil
	}
	if st.Query != q || st.Step != stepIdle {
		st.Query = q
		st.set(stepIdle)
	}
	var all []core.Document
	for _, fo := range core.Folders {
		docs, err := f.Service.Folder(ctx, a, fo, core.FolderQuery{Search: q, Limit: 100})
		if err != nil {
			return nil, err
		}
		all = append(all, docs...)
	}
	if offset > len(all) {
		offset = 0
	}
	page := all[offset:]
	if len(page) > pageSize+1 {
		page = page[:pageSize+1]
	}
	title := "🔍 " + f.t(u, "chat.search_results", map[string]any{"Query": q, "Count": len(all)})
	return []Screen{f.listScreen(ctx, u, a, title, page, offset, func(o int) string { return callbackData(CodeSearch, strconv.Itoa(o)) })}, nil
}

// listScreen draws a page of documents as buttons, with paging. docs holds
// up to one more than a page, to tell whether a next page exists.
func (f *Flow) listScreen(ctx context.Context, u *core.ChatUser, a core.Actor, title string, docs []core.Document, offset int, page func(int) string) Screen {
	more := len(docs) > pageSize
	if more {
		docs = docs[:pageSize]
	}
	var rows [][]Button
	for i := range docs {
		d := &docs[i]
		side, _ := core.ActorSide(d, a)
		other := d.RecipientName
		if side == core.SideRecipient {
			other = d.SenderName
		}
		label := statusIcon[d.Status] + " " + f.t(u, "type."+string(d.Type), nil) + " №" + d.Number + " · " + other + " · " + d.Date.Format("02.01")
		rows = append(rows, []Button{docButton(label, d, CodeView)})
	}
	var nav []Button
	if offset > 0 {
		prev := offset - pageSize
		if prev < 0 {
			prev = 0
		}
		nav = append(nav, Button{Label: "◀️", Data: page(prev)})
	}
	if more {
		nav = append(nav, Button{Label: "▶️", Data: page(offset + pageSize)})
	}
	if len(nav) > 0 {
		rows = append(rows, nav)
	}
	rows = append(rows, []Button{{Label: "🔍 " + f.t(u, "chat.search", nil), Data: callbackData(CodeSearch)}, f.menuButton(u)})
	text := title
	if len(docs) == 0 {
		text += "\n" + f.t(u, "chat.empty", nil)
	}
	return Screen{Text: text, Buttons: rows}
}
