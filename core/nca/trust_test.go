package nca_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"edobot/core/nca"
	"edobot/core/signature"
)

// The real certificates at the paths NCA publishes them. The 2022
// production certificates are in no public repository, so the production
// list finds only the pre-2022 ones here.
var (
	rootGOST   = "root.gov.kz/cert/root_gost.cer"
	rootRSA    = "root.gov.kz/cert/root_rsa.cer"
	ncaGOST    = "pki.gov.kz/cert/nca_gost.cer"
	ncaRSA     = "pki.gov.kz/cert/nca_rsa.cer"
	testRoot   = "test.pki.gov.kz/cert/root_test_gost_2022.cer"
	testNCA    = "test.pki.gov.kz/cert/nca_gost2022_test.cer"
	testNCA04G = "test.pki.gov.kz/cert/nca_gost_test.cer"
	testNCA04R = "test.pki.gov.kz/cert/nca_rsa_test.cer"
)

func servePreviousProduction(t *testing.T, s *site) {
	s.put(rootGOST, testdata(t, "root_gost.cer"))
	s.put(rootRSA, testdata(t, "root_rsa.cer"))
	s.put(ncaGOST, testdata(t, "nca_gost.cer")) // PEM
	s.put(ncaRSA, testdata(t, "nca_rsa.cer"))
}

func outcomes(rep nca.Report) map[string]nca.Outcome {
	m := map[string]nca.Outcome{}
	for _, c := range rep.Changes {
		m[c.URL] = c.Outcome
	}
	return m
}

// TestProductionListSurvivesRestartOffline: the production list is
// downloaded (DER and PEM), checked and stored; a new process whose network
// is down trusts the same certificates from the store, and real NCA
// certificates of 2018 chain through them.
func TestProductionListSurvivesRestartOffline(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	servePreviousProduction(t, s)
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	trust := &nca.Trust{Sources: sources(t, nca.ModeProduction, ""), Store: db, Client: s.client(), Now: func() time.Time { return t0 }}
	rep, err := trust.Update(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]nca.Outcome{
		"http://root.gov.kz/cert/root_gost.cer": nca.Added, "http://root.gov.kz/cert/root_rsa.cer": nca.Added,
		"https://pki.gov.kz/cert/nca_gost.cer": nca.Added, "https://pki.gov.kz/cert/nca_rsa.cer": nca.Added,
		"https://pki.gov.kz/cert/root_rsa_2020.cer": nca.Failed, "https://pki.gov.kz/cert/root_gost_2022.cer": nca.Failed,
		"https://pki.gov.kz/cert/nca_rsa_2022.cer": nca.Failed, "https://pki.gov.kz/cert/nca_gost_2022.cer": nca.Failed,
	}
	if got := outcomes(rep); len(got) != len(want) {
		t.Fatalf("report %v, want %v", got, want)
	} else {
		for u, o := range want {
			if got[u] != o {
				t.Errorf("%s: %s, want %s", u, got[u], o)
			}
		}
	}
	recs, err := db.TrustedCertificates(ctx)
	if err != nil || len(recs) != 4 {
		t.Fatalf("stored %d, %v", len(recs), err)
	}
	for _, r := range recs {
		wantKind := nca.KindIntermediate
		if strings.Contains(r.SourceURL, "root_") {
			wantKind = nca.KindRoot
		}
		if r.Kind != wantKind || r.Origin != nca.OriginList || !r.FetchedAt.Equal(t0) || !r.ChangedAt.Equal(t0) ||
			!strings.Contains(r.Subject, "ОРТАЛЫҚ") || len(r.SHA256) != 64 || r.NotAfter.Year() != 2025 {
			t.Errorf("stored %+v", r)
		}
	}
	algorithms := map[string]string{}
	for _, r := range recs {
		algorithms[r.SourceURL] = r.Algorithm
	}
	if recs[0].Kind != nca.KindRoot || algorithms["http://root.gov.kz/cert/root_gost.cer"] != "GOST 34.310-2004" ||
		algorithms["http://root.gov.kz/cert/root_rsa.cer"] != "RSA 4096" {
		t.Errorf("roots first, with their algorithms: %v", algorithms)
	}

	chains := func(trust *nca.Trust) {
		t.Helper()
		v := &signature.Verifier{Trust: trust}
		for leaf, issuer := range map[string]string{"leaf_gost_2018.pem": "nca_gost.cer", "leaf_rsa_2018.pem": "nca_rsa.cer"} {
			path, err := v.Chain(ctx, cert(t, leaf), nil, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC))
			if err != nil || len(path) != 3 || !path[1].Equal(cert(t, issuer)) {
				t.Fatalf("%s: chain %d long, %v", leaf, len(path), err)
			}
		}
	}
	chains(trust)

	// A restart without internet.
	s.srv.Close()
	restarted := &nca.Trust{Sources: sources(t, nca.ModeProduction, ""), Store: db, Client: s.client(), Now: func() time.Time { return t0.Add(48 * time.Hour) }}
	if err := restarted.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Ready(ctx); err != nil {
		t.Fatalf("restarted offline: %v", err)
	}
	chains(restarted)
	rep, err = restarted.Update(ctx)
	if err != nil || rep.Count(nca.Failed) != 8 {
		t.Fatalf("update offline: %v %+v", err, rep)
	}
	for _, c := range rep.Changes {
		if wantKept := strings.Contains(c.URL, "root.gov.kz") || strings.HasSuffix(c.URL, "/nca_gost.cer") || strings.HasSuffix(c.URL, "/nca_rsa.cer"); c.Kept != wantKept {
			t.Errorf("%s: kept %v", c.URL, c.Kept)
		}
	}
	chains(restarted)
	if roots, intermediates := restarted.TrustedCAs(); len(roots) != 2 || len(intermediates) != 2 {
		t.Fatalf("after a failed update: %d roots, %d intermediates", len(roots), len(intermediates))
	}
}

// TestUpdateChangesAndRefusals: what NCA publishes at a URL replaces what
// was there; a download that is not a CA certificate, does not verify, does
// not chain, is not the pinned root, is too large or fails keeps what was
// trusted before.
func TestUpdateChangesAndRefusals(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	root, nca1 := "pki.example.kz/cert/root.cer", "pki.example.kz/cert/nca.cer"
	srcs, err := nca.Sources(nca.ModeProduction, "https://pki.example.kz/cert/", "root.cer nca.cer")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	trust := &nca.Trust{Sources: srcs, Store: db, Client: s.client(), Now: func() time.Time { return at }}
	update := func(want map[string]nca.Outcome) nca.Report {
		t.Helper()
		rep, err := trust.Update(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := outcomes(rep)
		for u, o := range want {
			if got["https://"+u] != o {
				t.Errorf("%s: %s, want %s (%+v)", u, got["https://"+u], o, rep.Changes)
			}
		}
		return rep
	}
	trusts := func(rootFile, ncaFile string) {
		t.Helper()
		roots, intermediates := trust.TrustedCAs()
		if len(roots) != 1 || !roots[0].Equal(cert(t, rootFile)) || len(intermediates) != 1 || !intermediates[0].Equal(cert(t, ncaFile)) {
			t.Fatalf("trusted %d roots, %d intermediates; want %s, %s", len(roots), len(intermediates), rootFile, ncaFile)
		}
	}

	s.put(root, testdata(t, "root_gost.cer"))
	s.put(nca1, testdata(t, "nca_gost.cer"))
	update(map[string]nca.Outcome{root: nca.Added, nca1: nca.Added})
	trusts("root_gost.cer", "nca_gost.cer")
	at = at.Add(24 * time.Hour)
	update(map[string]nca.Outcome{root: nca.Unchanged, nca1: nca.Unchanged})

	// NCA publishes other certificates at the same URLs.
	at = at.Add(24 * time.Hour)
	s.put(root, testdata(t, "root_rsa.cer"))
	s.put(nca1, testdata(t, "nca_rsa.cer"))
	rep := update(map[string]nca.Outcome{root: nca.Changed, nca1: nca.Changed})
	trusts("root_rsa.cer", "nca_rsa.cer")
	for _, c := range rep.Changes {
		if c.Previous == "" || c.Previous == c.SHA256 {
			t.Errorf("a change names the previous certificate: %+v", c)
		}
	}
	recs, _ := db.TrustedCertificates(ctx)
	for _, r := range recs {
		if !r.ChangedAt.Equal(at) {
			t.Errorf("%s changed at %v, want %v", r.SourceURL, r.ChangedAt, at)
		}
	}

	tampered := append([]byte(nil), testdata(t, "root_rsa.cer")...)
	tampered[len(tampered)-20] ^= 0x01 // inside the signature
	leaf := []byte(cert(t, "leaf_rsa_2018.pem").Raw)
	bad := []struct {
		name          string
		root, nca     []byte
		rootErr, nErr string
	}{
		{"an HTML page and an end-entity certificate", []byte("<html><body>Технические работы</body></html>"), leaf, "not a certificate", "not a CA"},
		{"a root whose signature does not verify, a CA of another root", tampered, testdata(t, "nca_gost_test.cer"), "does not verify", "does not chain"},
		{"too large, and the old root's intermediate", make([]byte, nca.MaxCertificateSize+1), testdata(t, "nca_gost.cer"), "larger", "does not chain"},
	}
	for _, b := range bad {
		s.put(root, b.root)
		s.put(nca1, b.nca)
		rep := update(map[string]nca.Outcome{root: nca.Failed, nca1: nca.Failed})
		for _, c := range rep.Changes {
			want := b.rootErr
			if strings.HasSuffix(c.URL, "nca.cer") {
				want = b.nErr
			}
			if c.Err == nil || !strings.Contains(c.Err.Error(), want) || !c.Kept {
				t.Errorf("%s: %s: %v (kept %v), want %q", b.name, c.URL, c.Err, c.Kept, want)
			}
		}
		trusts("root_rsa.cer", "nca_rsa.cer")
	}
	s.fail(root, http.StatusInternalServerError)
	s.fail(nca1, http.StatusBadGateway)
	update(map[string]nca.Outcome{root: nca.Failed, nca1: nca.Failed})
	trusts("root_rsa.cer", "nca_rsa.cer")

	// A URL dropped from the list is no longer trusted, but stays stored
	// for a list that names it again (another EDOBOT_NCA, say).
	all := trust.Sources
	trust.Sources = all[:1]
	s.put(root, testdata(t, "root_rsa.cer"))
	rep = update(map[string]nca.Outcome{root: nca.Unchanged})
	if len(rep.Changes) != 1 {
		t.Fatalf("report names what is not listed: %+v", rep.Changes)
	}
	if _, intermediates := trust.TrustedCAs(); len(intermediates) != 0 {
		t.Fatal("an unlisted intermediate is still trusted")
	}
	if recs, _ := db.TrustedCertificates(ctx); len(recs) != 2 {
		t.Fatalf("stored: %d, want both kept", len(recs))
	}
	trust.Sources = all
	if err := trust.Load(ctx); err != nil {
		t.Fatal(err)
	}
	trusts("root_rsa.cer", "nca_rsa.cer")
}

// TestPinnedRootOverPlainHTTP: the pre-2022 roots come from root.gov.kz
// over plain HTTP, so only the keys NCA's real roots have are accepted.
func TestPinnedRootOverPlainHTTP(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	trust := &nca.Trust{Sources: sources(t, nca.ModeProduction, "http://root.gov.kz/cert/root_gost.cer"), Store: db, Client: s.client()}
	s.put(rootGOST, testdata(t, "root_rsa.cer")) // a valid root, but not that one
	rep, err := trust.Update(ctx)
	if err != nil || len(rep.Changes) != 1 || rep.Changes[0].Outcome != nca.Failed || !strings.Contains(rep.Changes[0].Err.Error(), "pinned") {
		t.Fatalf("another root at a pinned URL: %v %+v", err, rep)
	}
	s.put(rootGOST, testdata(t, "nca_gost.cer")) // the right issuer's certificate, not the root
	if rep, err := trust.Update(ctx); err != nil || rep.Count(nca.Failed) != 1 || !strings.Contains(rep.Changes[0].Err.Error(), "pinned") {
		t.Fatalf("an intermediate at a pinned URL: %v %+v", err, rep)
	}
	s.put(rootGOST, testdata(t, "root_gost.cer"))
	if rep, err := trust.Update(ctx); err != nil || rep.Count(nca.Added) != 1 {
		t.Fatalf("the pinned root: %v %+v", err, rep)
	}
}

func kalkanCMS(t *testing.T) (cms, data []byte) {
	return testdata(t, "kalkan_attached_gost2015_rsa.der"), testdata(t, "data_test123.txt")
}

// signedAt is when NCA's library made the test CMS; a live verification a
// minute later, at this injected time, must accept its GOST signer.
var signedAt = time.Date(2022, 9, 27, 21, 17, 59, 0, time.UTC)

// checkKalkan verifies the real Kalkan CMS: its GOST 2015-512 signer is
// valid, its RSA signer's certificate had expired.
func checkKalkan(t *testing.T, v *signature.Verifier) {
	t.Helper()
	cms, data := kalkanCMS(t)
	results, err := v.Verify(ctx, cms, signature.NewContent(data), signature.PurposeSign)
	if err != nil || len(results) != 2 {
		t.Fatalf("Kalkan CMS: %v, %d results", err, len(results))
	}
	if r := results[0]; r.Err != nil || r.Signer.IIN != "123456789012" || r.Signer.KeyKind != "gost2015" || !r.SignedAt.Equal(signedAt) {
		t.Fatalf("GOST 2015 signer: %+v, %v", r.Signer, r.Err)
	}
	if r := results[1]; !errors.Is(r.Err, signature.ErrExpired) {
		t.Fatalf("RSA signer with an expired certificate: %v", r.Err)
	}
}

// TestTestPKIVerifiesKalkanCMS: EDOBOT_NCA=test downloads NCA's test PKI,
// refuses the 2004-era test intermediates whose roots are not published
// here, and the verifier then accepts a CMS made by NCA's own library with
// trust that came only from that download.
func TestTestPKIVerifiesKalkanCMS(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	s.put(testRoot, testdata(t, "root_test_gost_2022.cer"))
	s.put(testNCA, testdata(t, "nca_gost2022_test.cer"))
	s.put(testNCA04G, testdata(t, "nca_gost_test.cer"))
	s.put(testNCA04R, testdata(t, "nca_rsa_test.cer"))
	trust := &nca.Trust{Sources: sources(t, nca.ModeTest, ""), Store: db, Client: s.client()}
	rep, err := trust.Update(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(rep)
	for u, want := range map[string]nca.Outcome{testRoot: nca.Added, testNCA: nca.Added, testNCA04G: nca.Failed, testNCA04R: nca.Failed,
		"test.pki.gov.kz/cert/root_gost_test.cer": nca.Failed, "test.pki.gov.kz/cert/root_rsa_test.cer": nca.Failed} {
		if got["https://"+u] != want {
			t.Errorf("%s: %s, want %s", u, got["https://"+u], want)
		}
	}
	v := &signature.Verifier{Trust: trust, Freshness: 15 * time.Minute, Now: func() time.Time { return signedAt.Add(time.Minute) }}
	checkKalkan(t, v)
}

// TestAIAFetchesMissingIntermediate: with only the test root trusted, the
// Kalkan signer's issuer is fetched from the AIA URL its certificate names,
// checked, stored, and trusted after a restart without network. An issuer
// that does not chain to a trusted root, or a host off the trust list, is
// refused, and a failed URL is not asked again at once.
func TestAIAFetchesMissingIntermediate(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	s.put(testRoot, testdata(t, "root_test_gost_2022.cer"))
	s.put(testNCA, testdata(t, "nca_gost2022_test.cer")) // the leaf's AIA: http://test.pki.gov.kz/cert/nca_gost2022_test.cer
	live := func() time.Time { return signedAt.Add(time.Minute) }
	trust := &nca.Trust{Sources: sources(t, nca.ModeTest, "root_test_gost_2022.cer"), Store: db, Client: s.client(), Now: live}
	if _, err := trust.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, intermediates := trust.TrustedCAs(); len(intermediates) != 0 {
		t.Fatal("the intermediate is trusted before any AIA fetch")
	}
	v := &signature.Verifier{Trust: trust, Issuers: trust, Freshness: 15 * time.Minute, Now: live}
	checkKalkan(t, v)
	checkKalkan(t, v)
	if n := s.hitsOf(testNCA); n != 1 {
		t.Fatalf("the AIA URL was asked %d times, want once", n)
	}
	recs, _ := db.TrustedCertificates(ctx)
	var aia []nca.Record
	for _, r := range recs {
		if r.Origin == nca.OriginAIA {
			aia = append(aia, r)
		}
	}
	if len(aia) != 1 || aia[0].SourceURL != "http://test.pki.gov.kz/cert/nca_gost2022_test.cer" || aia[0].Kind != nca.KindIntermediate {
		t.Fatalf("stored from AIA: %+v", aia)
	}

	s.srv.Close()
	restarted := &nca.Trust{Sources: sources(t, nca.ModeTest, "root_test_gost_2022.cer"), Store: db, Client: s.client(), Now: live}
	if err := restarted.Load(ctx); err != nil {
		t.Fatal(err)
	}
	checkKalkan(t, &signature.Verifier{Trust: restarted, Issuers: restarted, Freshness: 15 * time.Minute, Now: live})

	// A root at the AIA URL is refused: roots come only from the list.
	db = emptyStore(t)
	s = newSite(t)
	s.put(testRoot, testdata(t, "root_test_gost_2022.cer"))
	s.put(testNCA, testdata(t, "root_test_gost_2022.cer"))
	rooted := &nca.Trust{Sources: sources(t, nca.ModeTest, "root_test_gost_2022.cer"), Store: db, Client: s.client(), Now: live}
	if _, err := rooted.Update(ctx); err != nil {
		t.Fatal(err)
	}
	cms, data := kalkanCMS(t)
	results, err := (&signature.Verifier{Trust: rooted, Issuers: rooted, Now: live}).Verify(ctx, cms, signature.NewContent(data), signature.PurposeSign)
	if err != nil || !errors.Is(results[0].Err, signature.ErrUntrusted) || !strings.Contains(results[0].Err.Error(), "roots come only from the trust list") {
		t.Fatalf("a root at the AIA URL: %v %v", err, results[0].Err)
	}

	// The issuer is there, but it does not chain to the only trusted root.	// The issuer is there, but it does not chain to the only trusted root.
	db = emptyStore(t)
	s = newSite(t)
	s.put(rootGOST, testdata(t, "root_gost.cer"))
	s.put(testNCA, testdata(t, "nca_gost2022_test.cer"))
	clk := newClock(signedAt.Add(time.Minute))
	other := &nca.Trust{Sources: sources(t, nca.ModeProduction, "http://root.gov.kz/cert/root_gost.cer"), Store: db, Client: s.client(), Now: clk.Now}
	if _, err := other.Update(ctx); err != nil {
		t.Fatal(err)
	}
	verify := func(tr *nca.Trust) error {
		v := &signature.Verifier{Trust: tr, Issuers: tr, Now: clk.Now}
		results, err := v.Verify(ctx, cms, signature.NewContent(data), signature.PurposeSign)
		if err != nil {
			return err
		}
		return results[0].Err
	}
	// root.gov.kz is on this list; the leaf's AIA host is not.
	if err := verify(other); !errors.Is(err, signature.ErrUntrusted) || !strings.Contains(err.Error(), "not a host of the trust list") {
		t.Fatalf("AIA on a host off the list: %v", err)
	}
	if n := s.hitsOf(testNCA); n != 0 {
		t.Fatalf("a host off the list was asked %d times", n)
	}
	other.Sources = append(other.Sources, sources(t, nca.ModeTest, "nca_unrelated.cer")...) // test.pki.gov.kz now a host of the list
	if err := verify(other); !errors.Is(err, signature.ErrUntrusted) || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("an AIA issuer under another root: %v", err)
	}
	if err := verify(other); !errors.Is(err, signature.ErrUntrusted) || s.hitsOf(testNCA) != 1 {
		t.Fatalf("a failed AIA URL asked again at once: %v, %d requests", err, s.hitsOf(testNCA))
	}
	clk.advance(nca.AIARetryAfter + time.Second)
	_ = verify(other)
	if n := s.hitsOf(testNCA); n != 2 {
		t.Fatalf("after %v the AIA URL is asked again: %d requests", nca.AIARetryAfter, n)
	}
	if recs, _ := db.TrustedCertificates(ctx); len(recs) != 1 {
		t.Fatalf("a refused AIA certificate was stored: %d rows", len(recs))
	}
}

// TestAIAIssuerRefreshed: a genuine NCA CA that did not issue the signer's
// certificate, at the URL its AIA names, is kept (it chains) but refuses the
// signer, and is not asked again for each signature; the daily update
// downloads AIA URLs again, and when the right certificate is there the
// signer chains.
func TestAIAIssuerRefreshed(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	servePreviousProduction(t, s)
	aiaRSA := "pki.gov.kz/cert/nca_rsa.cer" // leaf_rsa_2018's AIA: http://pki.gov.kz/cert/nca_rsa.cer
	s.put(aiaRSA, testdata(t, "nca_gost.cer"))
	trust := &nca.Trust{Store: db, Client: s.client(),
		Sources: sources(t, nca.ModeProduction, "http://root.gov.kz/cert/root_gost.cer http://root.gov.kz/cert/root_rsa.cer nca_gost.cer")}
	if rep, err := trust.Update(ctx); err != nil || rep.Count(nca.Added) != 3 {
		t.Fatalf("update: %v %+v", err, rep)
	}
	v := &signature.Verifier{Trust: trust, Issuers: trust}
	leaf, at := cert(t, "leaf_rsa_2018.pem"), time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 2 {
		if _, err := v.Chain(ctx, leaf, nil, at); !errors.Is(err, signature.ErrUntrusted) || !strings.Contains(err.Error(), "did not issue it") {
			t.Fatalf("another CA at the AIA URL: %v", err)
		}
	}
	if n := s.hitsOf(aiaRSA); n != 1 {
		t.Fatalf("the AIA URL was asked %d times, want once", n)
	}
	s.put(aiaRSA, testdata(t, "nca_rsa.cer"))
	rep, err := trust.Update(ctx)
	if err != nil || outcomes(rep)["http://pki.gov.kz/cert/nca_rsa.cer"] != nca.Changed {
		t.Fatalf("update of the AIA URL: %v %+v", err, rep)
	}
	if path, err := v.Chain(ctx, leaf, nil, at); err != nil || len(path) != 3 {
		t.Fatalf("after the update: %v", err)
	}
}

// TestNothingTrustedSaysSo: a fresh start with no network and an empty
// store is not ready, and a signature is refused as "nothing trusted yet",
// not as a bad certificate.
func TestNothingTrustedSaysSo(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	s.srv.Close()
	trust := &nca.Trust{Sources: sources(t, nca.ModeProduction, ""), Store: db, Client: s.client()}
	if err := trust.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := trust.Update(ctx); err != nil || rep.Count(nca.Failed) != 8 || rep.Changes[0].Kept {
		t.Fatalf("offline update: %v %+v", err, rep)
	}
	if err := trust.Ready(ctx); !errors.Is(err, nca.ErrNothingTrusted) {
		t.Fatalf("Ready = %v", err)
	}
	cms, data := kalkanCMS(t)
	v := &signature.Verifier{Trust: trust, Issuers: trust}
	if _, err := v.Verify(ctx, cms, signature.NewContent(data), signature.PurposeSign); !errors.Is(err, signature.ErrNoTrust) {
		t.Fatalf("Verify with nothing trusted = %v, want %v", err, signature.ErrNoTrust)
	}
	// A CA of EDOBOT_TRUSTED_CA is trust enough.
	trust.Extra = []nca.Extra{{Cert: cert(t, "root_test_gost_2022.cer"), Source: "/etc/edobot/ca.pem"}}
	if err := trust.Load(ctx); err != nil || trust.Ready(ctx) != nil {
		t.Fatalf("with an extra root: %v %v", err, trust.Ready(ctx))
	}
	if c := trust.Certificates(); len(c) != 1 || c[0].Origin != nca.OriginFile || c[0].Kind != nca.KindRoot || c[0].SourceURL != "/etc/edobot/ca.pem" {
		t.Fatalf("certificates: %+v", c)
	}
}

// TestRunRefreshes drives the refresh loop with an injected clock: the
// first download at once, then one a day; a failure is retried sooner, with
// a doubling wait, while the trust stays; a restart with fresh certificates
// waits for the rest of the day instead of downloading.
func TestRunRefreshes(t *testing.T) {
	db := emptyStore(t)
	s := newSite(t)
	s.put(testRoot, testdata(t, "root_test_gost_2022.cer"))
	s.put(testNCA, testdata(t, "nca_gost2022_test.cer"))
	srcs := sources(t, nca.ModeTest, "root_test_gost_2022.cer nca_gost2022_test.cer")
	clk := newClock(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))
	trust := &nca.Trust{Sources: srcs, Store: db, Client: s.client(), Now: clk.Now, After: clk.After, Retry: time.Minute}
	if err := trust.Load(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(tr *nca.Trust) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		return cancel, done
	}
	cancel, done := run(trust)
	if d := clk.nextWait(t, done); d != nca.DefaultInterval {
		t.Fatalf("after the first download Run waits %v, want a day", d)
	}
	if trust.Ready(ctx) != nil || s.hitsOf(testRoot) != 1 {
		t.Fatalf("first download: ready %v, %d requests", trust.Ready(ctx), s.hitsOf(testRoot))
	}

	// The site fails: retries after 1, 2, 4 minutes, the trust kept.
	s.fail(testRoot, http.StatusServiceUnavailable)
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		clk.advance(time.Hour)
		clk.fire <- clk.Now()
		if d := clk.nextWait(t, done); d != want {
			t.Fatalf("retry after %v, want %v", d, want)
		}
		if trust.Ready(ctx) != nil {
			t.Fatal("a failed refresh dropped the trust")
		}
	}
	// It answers again, with other certificates: replaced, and back to a day.
	s.put(testRoot, testdata(t, "root_gost.cer"))
	s.put(testNCA, testdata(t, "nca_gost.cer"))
	clk.fire <- clk.Now()
	if d := clk.nextWait(t, done); d != nca.DefaultInterval {
		t.Fatalf("after a good refresh Run waits %v", d)
	}
	if roots, _ := trust.TrustedCAs(); len(roots) != 1 || !roots[0].Equal(cert(t, "root_gost.cer")) {
		t.Fatal("the changed root is not the one trusted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run ended with %v", err)
	}

	// A restart an hour later downloads nothing before the day is over.
	hits := s.hitsOf(testRoot)
	clk.advance(time.Hour)
	restarted := &nca.Trust{Sources: srcs, Store: db, Client: s.client(), Now: clk.Now, After: clk.After}
	if err := restarted.Load(ctx); err != nil {
		t.Fatal(err)
	}
	cancel, done = run(restarted)
	defer cancel()
	if d := clk.nextWait(t, done); d != 23*time.Hour || s.hitsOf(testRoot) != hits {
		t.Fatalf("restart: waits %v, %d requests (was %d)", d, s.hitsOf(testRoot), hits)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSources(t *testing.T) {
	prod := sources(t, nca.ModeProduction, "")
	if len(prod) != 8 || prod[0].URL != "https://pki.gov.kz/cert/root_rsa_2020.cer" || prod[3].URL != "https://pki.gov.kz/cert/nca_gost_2022.cer" {
		t.Fatalf("production: %+v", prod)
	}
	pinned := 0
	for _, s := range prod {
		if strings.HasPrefix(s.URL, "http://") != (s.Key != "") {
			t.Errorf("%s: pin %q; every plain-HTTP root is pinned, nothing else", s.URL, s.Key)
		}
		if s.Key != "" {
			pinned++
		}
	}
	test := sources(t, nca.ModeTest, "")
	if len(test) != 6 || pinned != 2 {
		t.Fatalf("test: %+v", test)
	}
	for _, s := range test {
		if !strings.HasPrefix(s.URL, "https://test.pki.gov.kz/cert/") {
			t.Errorf("test list: %s", s.URL)
		}
	}
	if test[0].URL != "https://test.pki.gov.kz/cert/root_test_gost_2022.cer" || test[1].URL != "https://test.pki.gov.kz/cert/nca_gost2022_test.cer" {
		t.Errorf("test list: %+v", test)
	}
	if off, err := nca.Sources(nca.ModeOff, "", "x.cer"); err != nil || len(off) != 0 {
		t.Fatalf("off: %v %v", off, err)
	}
	mirror, err := nca.Sources(nca.ModeProduction, "http://mirror.local/nca", "a.cer, b.cer http://other.local/c.cer a.cer")
	if err != nil || len(mirror) != 3 || mirror[0].URL != "http://mirror.local/nca/a.cer" || mirror[2].URL != "http://other.local/c.cer" {
		t.Fatalf("mirror: %+v %v", mirror, err)
	}
	for _, m := range []string{"", "prod", "Production", "test", "off"} {
		if _, err := nca.ParseMode(m); err != nil {
			t.Errorf("mode %q: %v", m, err)
		}
	}
	if _, err := nca.ParseMode("staging"); err == nil {
		t.Error("mode staging accepted")
	}
	if _, err := nca.Sources(nca.ModeTest, "ftp://pki.gov.kz/cert/", ""); !errors.Is(err, nca.ErrBaseURL) {
		t.Errorf("ftp base: %v", err)
	}
	if _, err := nca.Sources(nca.ModeTest, "", "ftp://x/y.cer"); !errors.Is(err, nca.ErrCertificateName) {
		t.Errorf("ftp certificate: %v", err)
	}
}
