package prefill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"edobot/core/pdfintake"
)

// Bounds of one extraction. A title and the parties' details are on the
// first pages and the last ones, so only those are read, whatever the
// length of the document; the time and memory of pdftotext are capped as
// the page renderer's pdftoppm is, and its output is cut at MaxText.
const (
	HeadPages = 2                // pages read from the start
	TailPages = 2                // pages read from the end
	MaxText   = 256 << 10        // bytes of text kept per run
	Timeout   = 10 * time.Second // per pdftotext run
	MaxMemory = 512 << 20        // address space of a pdftotext run
	cpuLimit  = 10 * time.Second // CPU time of a run
	tool      = "pdftotext"      // poppler-utils, as pdftoppm for the page images
	encoding  = "UTF-8"          // pdftotext's -enc
)

// ErrNoText says that the PDF has no text on the pages read: a scan.
var ErrNoText = errors.New("prefill: no text")

// Extract returns the text of the first HeadPages and last TailPages pages of
// the PDF f, which has pages pages (intake counted them). A failure is
// an error the caller logs and ignores: a proposal is never worth refusing
// an upload for.
func Extract(ctx context.Context, f *os.File, pages int) (string, error) {
	if pages < 1 {
		return "", fmt.Errorf("prefill: %d pages", pages)
	}
	ranges := [][2]int{{1, min(HeadPages, pages)}}
	if last := pages - TailPages + 1; pages > HeadPages {
		ranges = append(ranges, [2]int{max(last, HeadPages+1), pages})
	}
	// The ranges are read at once, by one process each: the wall time is
	// that of the slower, not the sum.
	texts := make([][]byte, len(ranges))
	errs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for i, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts[i], errs[i] = run(ctx, f, r[0], r[1])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	var out bytes.Buffer
	for _, t := range texts {
		out.Write(t)
		out.WriteByte('\f')
	}
	if len(bytes.TrimSpace(bytes.ReplaceAll(out.Bytes(), []byte{'\f'}, nil))) == 0 {
		return "", ErrNoText
	}
	return out.String(), nil
}

// run gives pdftotext the open file as its descriptor 3: no path of the
// spool is needed, and the file cannot be swapped under it.
func run(ctx context.Context, f *os.File, first, last int) ([]byte, error) {
	const path = "/dev/fd/3"
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	args := []string{"-q", "-enc", encoding, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last), path, "-"}
	cmd := pdfintake.BoundedCommand(ctx, pdfintake.Bounds{CPU: cpuLimit, Memory: MaxMemory}, tool, args...)
	cmd.ExtraFiles = []*os.File{f}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("prefill: start %s: %w", tool, err)
	}
	text, readErr := io.ReadAll(io.LimitReader(stdout, MaxText))
	// The rest, if any, is drained so the child is not blocked on a full pipe.
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("prefill: %s pages %d-%d: %w: %s", tool, first, last, err, stderr.Bytes())
	}
	if readErr != nil {
		return nil, readErr
	}
	return text, nil
}

// limitedBuffer keeps the first n bytes written and discards the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	n   int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.n - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
