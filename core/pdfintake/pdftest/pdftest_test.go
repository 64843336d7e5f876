package pdftest

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"edobot/core/pdfintake"
)

// validate runs pdfcpu's full reader and validator (relaxed, its default;
// strict mode insists on /FirstChar even for the standard 14 fonts, which
// PDF 1.5+ made optional), stricter than what intake needs, so helpers
// cannot drift into producing borderline files.
func validate(t *testing.T, b []byte, conf *model.Configuration) *model.Context {
	t.Helper()
	ctx, err := api.ReadContext(bytes.NewReader(b), conf)
	if err != nil {
		t.Fatalf("pdfcpu read: %v", err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatalf("pdfcpu validate: %v", err)
	}
	return ctx
}

func TestPDFPageCount(t *testing.T) {
	for _, pages := range []int{1, 2, 7, 200} {
		ctx := validate(t, PDF(pages), config())
		if ctx.PageCount != pages {
			t.Errorf("PDF(%d) has %d pages", pages, ctx.PageCount)
		}
	}
}

func TestPDFIsDeterministic(t *testing.T) {
	if !bytes.Equal(PDF(3), PDF(3)) {
		t.Error("PDF(3) differs between calls")
	}
}

func TestPDFOfSizeIsExact(t *testing.T) {
	minimal := len(build(3, 0))
	// Sizes around digit-count changes of /Length and of the startxref
	// offset are where the size search could overshoot.
	sizes := []int64{int64(minimal), int64(minimal) + 1, 999, 1000, 1001, 9999, 10_000, 10_001, 99_999, 100_000, 1 << 20}
	for _, size := range sizes {
		if size < int64(minimal) {
			continue
		}
		b := PDFOfSize(3, size)
		if int64(len(b)) != size {
			t.Errorf("PDFOfSize(3, %d) returned %d bytes", size, len(b))
			continue
		}
		ctx := validate(t, b, config())
		if ctx.PageCount != 3 {
			t.Errorf("PDFOfSize(3, %d) has %d pages", size, ctx.PageCount)
		}
	}
}

func TestPDFOfSizeTooSmallPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an impossible size")
		}
	}()
	PDFOfSize(3, 10)
}

func TestEncrypted(t *testing.T) {
	plain := PDF(2)
	cases := []struct {
		name, user, owner string
		aes               bool
	}{
		{"user and owner", "user", "owner", true},
		{"owner only", "", "owner", true},
		{"user only", "user", "", true},
		{"rc4 owner only", "", "owner", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc := Encrypted(plain, tc.user, tc.owner)
			if !tc.aes {
				enc = EncryptedRC4(plain, tc.user, tc.owner)
			}
			if bytes.Equal(enc, plain) {
				t.Fatal("output equals input")
			}
			// Without passwords pdfcpu opens the file only if the user
			// password is empty; with the right one it always does.
			_, err := api.ReadContext(bytes.NewReader(enc), config())
			if tc.user != "" && !errors.Is(err, pdfcpu.ErrWrongPassword) {
				t.Errorf("read without password: err = %v, want wrong password", err)
			}
			conf := config()
			conf.UserPW = tc.user
			ctx, err := api.ReadContext(bytes.NewReader(enc), conf)
			if err != nil {
				t.Fatalf("read with user password: %v", err)
			}
			if ctx.Encrypt == nil || ctx.E == nil {
				t.Error("file is not encrypted")
			}
			if err := ctx.EnsurePageCount(); err != nil || ctx.PageCount != 2 {
				t.Errorf("pages = %d (%v), want 2", ctx.PageCount, err)
			}
		})
	}
}

func TestPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(PNG()))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() == 0 {
		t.Error("empty image")
	}
}

func TestPDFWithImages(t *testing.T) {
	for _, tc := range []struct {
		pages int
		size  int64
	}{{1, 10_000}, {3, 100_001}, {7, 1 << 20}, {200, pdfintake.MaxSize}} {
		b := PDFWithImages(tc.pages, tc.size)
		if int64(len(b)) != tc.size {
			t.Errorf("PDFWithImages(%d, %d) returned %d bytes", tc.pages, tc.size, len(b))
		}
		ctx := validate(t, b, config())
		if ctx.PageCount != tc.pages {
			t.Errorf("PDFWithImages(%d, %d) has %d pages", tc.pages, tc.size, ctx.PageCount)
		}
		// Every image is drawn by its page: the bulk of the file is content.
		var images int64
		for p := 1; p <= tc.pages; p++ {
			d, _, _, err := ctx.PageDict(p, false)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ctx.DereferenceDict(d["Resources"])
			if err != nil {
				t.Fatal(err)
			}
			xo, err := ctx.DereferenceDict(res["XObject"])
			if err != nil {
				t.Fatal(err)
			}
			sd, _, err := ctx.DereferenceStreamDict(xo["Im1"])
			if err != nil || sd == nil {
				t.Fatalf("page %d: no image: %v", p, err)
			}
			w, h := *sd.IntEntry("Width"), *sd.IntEntry("Height")
			if len(sd.Raw) != w*h {
				t.Errorf("page %d: %d bytes of image data for %dx%d pixels", p, len(sd.Raw), w, h)
			}
			images += int64(len(sd.Raw))
		}
		if float64(images) < 0.9*float64(tc.size) && tc.size >= 1<<20 {
			t.Errorf("PDFWithImages(%d, %d): images are only %d bytes", tc.pages, tc.size, images)
		}
		up, err := pdfintake.Intake(context.Background(), bytes.NewReader(b), t.TempDir())
		if err != nil {
			t.Fatalf("PDFWithImages(%d, %d): intake: %v", tc.pages, tc.size, err)
		}
		if up.Pages != tc.pages {
			t.Errorf("PDFWithImages(%d, %d): intake counted %d pages", tc.pages, tc.size, up.Pages)
		}
		up.Close()
	}
	if !bytes.Equal(PDFWithImages(2, 50_000), PDFWithImages(2, 50_000)) {
		t.Error("PDFWithImages differs between calls")
	}
}
