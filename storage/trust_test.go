package storage_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"edobot/core/nca"
	"edobot/storage/storagetest"
)

func TestTrustedCertificates(t *testing.T) {
	db := storagetest.DB(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	prefix := "https://trust-test.example.kz/" + strings.ReplaceAll(t.Name(), "/", "_") + "/"
	rec := func(name string, kind nca.Kind, origin nca.Origin, sha byte) nca.Record {
		return nca.Record{SourceURL: prefix + name, Origin: origin, Kind: kind, SHA256: strings.Repeat(string("0123456789abcdef"[sha%16]), 64),
			Subject: "CN=" + name + ",C=KZ", Algorithm: "GOST 34.10-2015 512", NotBefore: at.AddDate(-1, 0, 0), NotAfter: at.AddDate(9, 0, 0),
			DER: []byte{0x30, sha}, FetchedAt: at, ChangedAt: at.Add(-time.Hour)}
	}
	mine := func() map[string]nca.Record {
		all, err := db.TrustedCertificates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]nca.Record{}
		for _, r := range all {
			if strings.HasPrefix(r.SourceURL, prefix) {
				m[strings.TrimPrefix(r.SourceURL, prefix)] = r
			}
		}
		return m
	}
	for _, r := range []nca.Record{rec("nca.cer", nca.KindIntermediate, nca.OriginList, 1), rec("root.cer", nca.KindRoot, nca.OriginList, 2),
		rec("aia.cer", nca.KindIntermediate, nca.OriginAIA, 3)} {
		if err := db.SaveTrustedCertificate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := mine()
	if r := got["root.cer"]; len(got) != 3 || r.Kind != nca.KindRoot || r.Origin != nca.OriginList || !r.FetchedAt.Equal(at) ||
		!r.ChangedAt.Equal(at.Add(-time.Hour)) || !bytes.Equal(r.DER, []byte{0x30, 2}) || r.Subject != "CN=root.cer,C=KZ" || r.NotAfter.Year() != 2035 {
		t.Fatalf("read back: %+v", got)
	}
	all, _ := db.TrustedCertificates(ctx)
	if all[0].Kind != nca.KindRoot {
		t.Fatalf("roots are not read first: %+v", all[0])
	}
	// What a URL publishes anew replaces what it had.
	changed := rec("nca.cer", nca.KindIntermediate, nca.OriginList, 4)
	changed.FetchedAt, changed.ChangedAt = at.Add(time.Hour), at.Add(time.Hour)
	if err := db.SaveTrustedCertificate(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if r := mine()["nca.cer"]; r.SHA256 != changed.SHA256 || !r.ChangedAt.Equal(changed.ChangedAt) || !bytes.Equal(r.DER, changed.DER) {
		t.Fatalf("replaced: %+v", r)
	}
	bad := rec("bad.cer", "leaf", nca.OriginList, 5)
	if err := db.SaveTrustedCertificate(ctx, bad); err == nil {
		t.Fatal("a kind other than root or intermediate was stored")
	}
}
